"""The interfaces plugins implement and the engine calls.

These are structural (``typing.Protocol``): a plugin never has to import
or subclass anything from the kernel to provide one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    from attractor_core.human import Answer, Question
    from attractor_core.model import Context, Graph, Node, Outcome
    from attractor_core.model.branch import BranchResult
    from attractor_core.validation.diagnostics import Diagnostic


@runtime_checkable
class Handler(Protocol):
    """Executes one node type (spec §4.1).

    ``execute`` returns an ``Outcome``, or ``None`` to say "no opinion": the
    engine then uses a status file written during the attempt, then the
    node's ``auto_status``, else fails with "no status reported". A status
    file at ``run.stage_dir / "status.json"`` written during the attempt
    takes precedence over the returned outcome. The handler must not apply
    ``context_updates`` itself: it returns them and the engine merges them.
    An exception it raises becomes a ``fail`` outcome with a ``crash.txt``
    traceback, never a success. Cancellation (``trio.Cancelled``, from a
    stage timeout or a run cancellation) must be allowed to propagate, after
    the handler has stopped everything it started (process groups killed).

    Optional class attribute ``custom_outcomes``: whether the handler's stages
    can end with a custom outcome (``needs_dod``, from a status file or its
    own ``Outcome.named``). Validation then accepts ``outcome=needs_dod`` on
    the node's edges; with ``False`` it warns that such a clause is constant.
    A handler that does not declare it is assumed to report custom outcomes.

    A handler may declare the class attribute ``routes_outcome = True``: its
    nodes are routing points that pass the previous outcome on (the diamond).
    After a failed stage, an unconditional edge is followed only into such a
    node; into any other node the failure goes through failure routing.

    Other optional ``True`` declarations the engine reads:
    ``fans_out`` (its unconditional edges are branches it runs itself; after a
    failure they are never followed, and a successful outcome's ``resume_at``
    names where traversal continues) and ``retries_any_failure`` (any failure
    but a cancellation may be retried, not only the retryable classes, unless
    the node sets ``retry_on=transient``).

    Optional method ``status_in_process(node, run) -> bool``: ``True`` when the
    attempt's status comes from the handler alone (its returned outcome or
    ``report_status``), never from a file another process writes. The engine
    then neither clears nor reads the fallback status sources for the attempt;
    the canonical ``status.json`` still counts.
    """

    async def execute(
        self, node: Node, context: Context, graph: Graph, run: StageRun
    ) -> Outcome | None:
        ...


class StageRun(Protocol):
    """What the engine offers a handler during one stage attempt."""

    @property
    def run_id(self) -> str: ...

    @property
    def logs_root(self) -> Path: ...

    @property
    def stage_dir(self) -> Path:
        """The node's directory for this attempt; it exists when ``execute`` starts."""

    @property
    def workdir(self) -> Path: ...

    @property
    def attempt(self) -> int:
        """1-based attempt number of this execution of the node."""

    @property
    def execution(self) -> int:
        """1-based count of executions of this node in the run, across visits,
        attempts, loop restarts and resumes (the checkpoint keeps it). An attempt
        re-run because an interruption found it in flight continues the same
        execution, so it keeps this number."""

    @property
    def branch_key(self) -> str:
        """The parallel branch this attempt runs in, or ``""`` on the main path."""

    @property
    def dot_path(self) -> Path | None:
        """The DOT file the graph came from, for resolving relative paths."""

    def environment(self) -> dict[str, str]:
        """``os.environ`` plus the ATTRACTOR_* contract variables for this attempt."""

    def emit(self, event: Any) -> None:
        """Send a typed event to every event sink."""

    def progress(self, output_bytes: int) -> None:
        """Report that the attempt's output grew to ``output_bytes`` (liveness)."""

    def option(self, key: str, default: Any = None) -> Any:
        """A run option (CLI ``--backend``, ``--interviewer``, config values)."""

    def plugin_hook(self) -> Any:
        """The pluggy hook relay, for handlers that consult other plugins."""

    def plugin_state(self, name: str) -> dict[str, Any]:
        """The run-wide state of plugin ``name``: one mutable dict shared by every stage and
        branch of the run (a sub-pipeline has its own). Keep JSON values in it: the engine
        saves it in checkpoint.json and final.json under ``plugins.<name>`` and a resume
        gives it back as it was at the last checkpoint."""

    def enclosing_plugin_states(self, name: str) -> list[dict[str, Any]]:
        """Plugin ``name``'s state in the rest of the run tree, which ``plugin_state`` does
        not hold yet: the runs enclosing this one, innermost first (a sub-pipeline's parent
        run, live; for a unit run by a remote executor, the run tree's as it was at its
        dispatch), then the sub-pipelines running in this process now (siblings in other
        branches, this run's children, theirs; live). Empty for a top-level run's stage
        while no sub-pipeline runs. A sub-run's own state is added to its run's when it
        ends (``attractor_merge_plugin_state``); until then, run-wide figures are its own
        state plus these (read them, do not change them; ask again for each decision, as
        sub-runs come and go)."""

    def stop_run(self, exit_path: str, reason: str, *, failure_class: str = "",
                 resumable: bool = False) -> None:
        """End the run as a failure through the cancellation path: the stages in flight
        (this one too) are cancelled, no stage starts after, and final.json says ``fail``
        with ``exit_path``, ``reason`` and ``failure_class``. With ``resumable`` ``attractor
        resume`` may continue it (the stage in flight runs again). The first stop wins. In
        a sub-pipeline or a remote branch it ends the whole run, the top-level one too."""

    def open_child(self, dot_file: str, *, context: Mapping[str, Any] | None = None,
                   workdir: Path | None = None,
                   steered: bool = True) -> AbstractAsyncContextManager[Any]:
        """Start a sub-pipeline under ``{stage_dir}/child/``: ``async with run.open_child(f) as c``.

        ``dot_file`` is relative to the parent DOT file. The child shares the
        run's plugins, policy, cancellation and stall watchdog, writes its own
        artifacts, and its events reach the parent's stream as
        ``child_run_event``. The handle ``c`` offers ``telemetry()`` (status,
        active_stage, completed_nodes, node_outcomes, retry_counts, ...),
        ``steer(text)`` (the child's next stage gets steer.md and context key
        ``stack.steer``), ``cancel(reason)`` and ``await wait() -> FinalRecord``.
        Leaving the block cancels a child still running. Raises ``ParseError``
        or ``ValidationError`` for an invalid child graph.

        With ``steered=False`` the stage promises to use only ``run_id``,
        ``final``, ``wait()`` and ``cancel()``; the run's executor may then run
        the child in another process or machine (docs/distributed.md), with the
        same artifacts, events, liveness and cancellation. A child whose worker
        died ends ``fail``, class ``transient_infra``, ``worker <address> lost``.
        """

    async def run_branch(self, start: str, *, join: str, key: str, index: int,
                         context: Context) -> BranchResult:
        """Traverse one parallel branch from ``start`` until the next hop is ``join``.

        Uses the main loop's attempt, retry and routing rules on ``context``
        (give each branch its own ``clone()``). Stage dirs go under
        ``{logs_root}/parallel/{node_id}/pass-{execution}/{index}-{key}/``. A
        run cancellation propagates as ``trio.Cancelled``; a branch cancelled
        alone by the stall watchdog returns a failed result.

        Each branch checkpoints in its own directory. In an attempt that continues
        one interrupted by a crash or a cancel (``attractor resume``), a branch
        that had finished returns its recorded result without running, and one
        that was in flight continues from its own last completed stage.
        """

    def finished_branches(self) -> list[BranchResult]:
        """The branches of this dispatch that finished before an interruption, in the
        order they finished (empty unless this attempt continues an interrupted one).
        Record them before starting any branch, so an early termination they cause
        holds before anything runs again."""


    async def adopt_branch(self, result: BranchResult) -> str:
        """Bring the work of a finished branch into this attempt's workdir (a fan-in
        choosing its winner). Returns ``""`` on success or when the run has no
        workspace plugin, else a failure reason naming what stood in the way."""

class RunSettings(Protocol):
    """What a run offers before its first stage as well as during one: its options, the
    process environment and the plugins. A :class:`StageRun` offers the same three."""

    def option(self, key: str, default: Any = None) -> Any:
        """A run option (CLI ``--backend``, ``--interviewer``, config values)."""

    def environment(self) -> dict[str, str]:
        """The environment the run's stages will see (``os.environ`` before the run)."""

    def plugin_hook(self) -> Any:
        """The pluggy hook relay, for handlers that consult other plugins."""


class PreflightSettings(RunSettings, Protocol):
    """What a node's preflight check is given: the run's settings, and a way to check the
    nodes of a sub-pipeline the node would start."""

    def child_problems(self, dot_file: str) -> Sequence[str]:
        """The problems of the sub-pipeline ``dot_file`` (relative to this pipeline's file),
        each naming its file, line and node. Nothing when it cannot be loaded or would
        include itself: the stage reports those when it runs."""


@runtime_checkable
class NodePreflight(Protocol):
    """A handler that can tell, before the run starts, whether a node of its type can run.

    Optional: the engine calls ``preflight`` once for every node the handler
    will execute, after validation and before anything is written. Return
    one sentence per problem, saying what is wrong and what to set (without
    naming the node: the engine adds node, file and line); return nothing
    when the node can run. Any problem stops the run with exit code 2, all
    of them listed. Must be quick and side-effect free: no network, no
    process started. A handler that delegates (the codergen handler and its
    backends) asks its delegate the same question; one that starts a
    sub-pipeline passes on ``run.child_problems(dot_file)``.
    """

    def preflight(self, node: Node, graph: Graph, run: PreflightSettings) -> Sequence[str]: ...


class StatusSource(Protocol):
    """Where a stage's agent may leave its ``status.json``.

    ``canonical`` is true for the stage dir's own file (``ATTRACTOR_STATUS_PATH``);
    any other source is a fallback, copied to the canonical path when chosen.
    Lower ``precedence`` is consulted first.
    """

    name: str
    precedence: int
    canonical: bool

    def path(self, stage_dir: Path, workdir: Path, run_id: str) -> Path: ...


class LintRule(Protocol):
    """A validation rule (spec §7.4)."""

    name: str

    def apply(self, graph: Graph) -> Sequence[Diagnostic]: ...


class Transform(Protocol):
    """A graph rewrite applied after parsing and before validation (spec §9.1).

    ``apply`` returns a new graph and leaves its argument untouched.
    """

    def apply(self, graph: Graph) -> Graph: ...


class EventSink(Protocol):
    """Receives every event of a run, in ``seq`` order, as a JSON-ready mapping.

    A sink may also implement ``emit_many(events)``: the engine then hands it the events it
    emits together (a stage's end and the checkpoint after it) in one call, e.g. for one
    ``write``; without it each goes through ``emit``.
    """

    def emit(self, event: Mapping[str, Any]) -> None: ...

    def close(self) -> None:
        """Called once after the last event of the run; flush and release resources."""


class CodergenBackend(Protocol):
    """Produces a codergen stage's response (spec §4.5).

    A backend may also implement ``preflight(node, run: RunSettings) ->
    Sequence[str]`` (see :class:`BackendPreflight`): the codergen handler
    calls it before the run for every node that will use the backend. A
    backend that reports its status itself and starts no agent that could
    write a status file declares ``status_in_process = True`` (see
    :class:`Handler`).
    """

    async def run(self, node: Node, prompt: str, context: Context, run: StageRun) -> str | Outcome:
        ...


class Interviewer(Protocol):
    """Puts a human gate's question to a person (spec §6.1).

    Built by the ``attractor_make_interviewer`` hook from the ``--interviewer``
    spec, or passed as run option ``interviewer`` through the Python API.
    ``ask`` returns an :class:`~attractor_core.human.Answer` (``AnswerValue.TIMEOUT``
    or ``SKIPPED`` when nobody answered); ``inform`` shows a message about a
    stage without expecting an answer.
    """

    async def ask(self, question: Question) -> Answer: ...

    def inform(self, message: str, stage: str) -> None: ...


@runtime_checkable
class BackendPreflight(Protocol):
    """A codergen backend's check that a node can run on it (provider, model, credentials,
    executable), with the contract of :class:`NodePreflight`."""

    def preflight(self, node: Node, run: RunSettings) -> Sequence[str]: ...


class RunWorkspace(Protocol):
    """Where a run's stages do their work, owned by one plugin for the whole run.

    Returned by the ``attractor_run_workspace`` hook. The engine runs every
    stage of the main path in ``workdir`` and calls the methods below at fixed
    points; each method may emit its own events through ``emit``. Every
    ``dict`` returned is strict-JSON data the engine records verbatim
    (``workspace`` in checkpoint.json, final.json and ``parallel.results``)
    and hands back to the plugin on resume. A method raising ``UsageError``
    during setup refuses the run (exit 2); later failures should be reported
    through the returned data and events, never by raising.

    Optional class attribute ``remote_branches``: ``True`` when the plugin can serve
    the run's parallel branches in an executor's worker (``attractor_branch_workspace``).
    Without it, a run with this workspace keeps its branches in its own process
    whatever its executor.
    """

    async def start(self) -> None:
        """Prepare the workspace (or restore it, on resume) before any stage runs.

        Raise ``UsageError`` to refuse the run; nothing has run yet.
        """

    @property
    def workdir(self) -> Path:
        """The directory stages of the main path run in (``ATTRACTOR_WORKDIR``);
        valid after ``start``."""

    def record(self) -> dict[str, Any]:
        """What to record about the workspace right now (cheap, no I/O)."""

    async def stage_completed(self, *, node_id: str, status: str, failure_class: str,
                              stage_dir: Path, workdir: Path, branch_key: str,
                              emit: Callable[[Any], None]) -> dict[str, Any]:
        """A stage ran to an outcome in ``workdir``: keep what it changed.

        Called once per completed node (after its retries), before the
        checkpoint that records it; ``stage_dir`` holds the node's final
        ``status.json`` (with its ``attempt``). The result becomes the lane's workspace
        record (a branch's record ends up in its ``BranchResult``).
        """

    async def open_branch(self, *, node_id: str, pass_number: int, index: int, key: str,
                          branch_root: Path, parent_workdir: Path,
                          emit: Callable[[Any], None],
                          resume_from: Mapping[str, Any] | None = None) -> Path:
        """A parallel branch starts: return the directory it works in.

        ``resume_from`` is the branch's workspace record of its checkpoint (what
        ``stage_completed`` last returned for it) when the branch continues after an
        interruption (``attractor resume``, or a new dispatch after its worker died):
        the directory should hold the work of its completed stages again. ``None`` for
        a branch that starts afresh."""

    async def close_branch(self, *, key: str, workdir: Path,
                           emit: Callable[[Any], None]) -> dict[str, Any]:
        """A parallel branch ended (however it ended): release its directory and say
        where its work can be found; the result goes to ``BranchResult.workspace``."""

    async def adopt_branch(self, *, node_id: str, branch_key: str,
                           branch_workspace: Mapping[str, Any], workdir: Path,
                           emit: Callable[[Any], None]) -> str:
        """A fan-in chose this branch: bring its work into ``workdir``.

        Returns ``""`` on success, else a failure reason (the fan-in fails
        with class ``deterministic``).
        """

    async def finish(self, *, status: str, emit: Callable[[Any], None]) -> dict[str, Any]:
        """The run is ending with ``status``: the final record of the workspace."""
