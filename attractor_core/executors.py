"""Executors: where a unit of a run's work runs.

A run has one executor, chosen by the run option ``executor`` (``--executor``,
recorded in manifest.json and so used again by a resume). ``local``, the
default, runs every parallel branch as a task of the run's own process (the
in-process nursery). Any other value is ``SCHEME:REST``; a plugin contributes
the executors of its schemes through the ``attractor_executors`` hook, which
returns ``{scheme: opener}``. ``opener(spec, logs_root)`` is an async context
manager that connects (raising ``UsageError`` when it cannot: the run does
not start, exit 2) and yields an :class:`Executor`.

An executor runs two kinds of unit, each described by a picklable record (it
crosses to another process or machine):

- one parallel branch, a :class:`BranchWork`: the remote side calls
  :func:`attractor_core.sdk.run_branch_work`, the ordinary branch traversal;
- one sub-pipeline that its stage only waits for (``open_child(...,
  steered=False)``, the ``subgraph`` handler's), a :class:`ChildWork`: the
  remote side calls :func:`attractor_core.sdk.run_child_work`, the child run's
  ordinary traversal. A child its stage observes and steers live (a manager
  loop's) stays in the parent process: its handle reads the child's memory.

Either runs in a ``trio.run`` of its own, writing under the same run directory
(which every worker must see at the same path). What runs inside a remote unit
(its stages, nested fan-outs, sub-pipelines) runs where the unit runs.

The files by which the two sides talk, in the unit's directory (a branch's
directory, or a child's run directory ``{stage_dir}/child/``):

``executor.progress``
    touched by the remote side whenever the branch makes progress; the
    parent turns a newer mtime into progress of the branch's lane, so the
    stall watchdog judges a remote branch as it judges a local one.
``executor.cancel``
    written by the parent to stop the unit: the remote side cancels its
    traversal (stopping its process groups) and returns.
``executor.stop``
    written by a remote child when a plugin stopped it (``StageRun.stop_run``:
    exit path, reason, failure class, resumable): the parent stops the whole
    run with it, as a local child's stop does. (A remote branch's comes back in
    its result.)
``executor/``
    a remote branch's own ``progress.ndjson`` (the branch's events),
    ``processes.json`` and ``live.json``. A remote child writes these as any
    run does, in its run directory; the parent forwards the new lines of its
    ``progress.ndjson`` into its own stream as ``child_run_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import pluggy
from attrs import frozen

from attractor_core.errors import RunError, UsageError

if TYPE_CHECKING:
    from attractor_core.model.branch import BranchResult
    from attractor_core.runtime.final import FinalRecord

LOCAL = "local"
PROGRESS_FILE = "executor.progress"
CANCEL_FILE = "executor.cancel"
STOP_FILE = "executor.stop"
REMOTE_DIR = "executor"


class WorkerLostError(RunError):
    """The process running a remote unit died before the unit ended (executors).

    The engine dispatches the unit again (its checkpoint says where it was);
    after the last dispatch the branch fails ``transient_infra`` with this
    message."""


class _UnitFiles:
    """The files by which the two sides of a unit talk, in its directory ``root``."""

    __slots__ = ()

    @property
    def root(self) -> Path:
        raise NotImplementedError

    @property
    def progress_file(self) -> Path:
        return self.root / PROGRESS_FILE

    @property
    def cancel_file(self) -> Path:
        return self.root / CANCEL_FILE

    @property
    def stop_file(self) -> Path:
        return self.root / STOP_FILE


@frozen
class BranchWork(_UnitFiles):
    """One parallel branch to run, wherever it runs: a lane of the run in ``logs_root``
    from ``start`` up to ``join``, in ``branch_root``. ``context`` is the branch's own
    copy of the run's context."""

    logs_root: str  # the run's directory (the top-level run's, or a sub-pipeline's)
    node_id: str
    pass_number: int
    start: str
    join: str
    key: str
    index: int
    branch_root: str
    branch_key: str  # the full key (``outer/inner`` for a nested fan-out)
    live_key: str
    restart_count: int
    workdir: str
    context: Any  # a Context
    # The record of the run's workspace (``RunWorkspace.record()``) when a workspace plugin
    # serves the branch where it runs (``attractor_branch_workspace``); None: no workspace.
    workspace: Any = None
    # The plugin state of the runs enclosing the branch (its run's first), as it was at
    # dispatch: what the branch's stages see through ``enclosing_plugin_states``.
    enclosing_plugin_state: tuple[dict[str, Any], ...] = ()

    @property
    def root(self) -> Path:
        return Path(self.branch_root)


@frozen
class ChildWork(_UnitFiles):
    """One sub-pipeline to run, wherever it runs: the child run in ``child_root`` of the
    pipeline ``dot_path``, nested in stage ``node_id`` of the run in ``logs_root``
    (whose manifest gives its plugins, options and policy). ``continuing``: the
    enclosing stage continues an interrupted attempt, so the child continues from
    its own checkpoint; otherwise it starts afresh with ``context``."""

    logs_root: str
    node_id: str
    run_id: str
    child_root: str
    dot_path: str
    workdir: str
    ancestry: tuple[str, ...]  # the DOT files of the enclosing runs, outermost first
    live_key: str  # the child's lane in the parent's liveness tree
    parent_live_key: str
    continuing: bool
    context: Any  # the seed values (a dict), or None
    # The plugin state of the run tree as it was at dispatch (the parent run's first): what
    # the child's stages see through ``enclosing_plugin_states``.
    enclosing_plugin_state: tuple[dict[str, Any], ...] = ()

    @property
    def root(self) -> Path:
        return Path(self.child_root)

    def failed(self, reason: str, failure_class: str, exit_path: str = "engine_error",
               completed_nodes: tuple[str, ...] = ()) -> FinalRecord:
        """The child's ending when it could not record one itself (its process died, or
        the remote side raised): resumable, so a resume or a retry continues it."""
        from attractor_core.runtime.event_bus import utc_now_iso
        from attractor_core.runtime.final import FinalRecord

        now = utc_now_iso()
        return FinalRecord(run_id=self.run_id, status="fail", exit_path=exit_path,
                           started_at=now, finished_at=now, duration_ms=0,
                           logs_root=self.child_root, failure_reason=reason,
                           failure_class=failure_class, completed_nodes=completed_nodes,
                           resumable=True)


# A unit of work an executor runs.
Work: TypeAlias = "BranchWork | ChildWork"


class Executor(Protocol):
    """Runs a run's parallel branches and sub-pipelines somewhere; open for the whole run."""

    spec: str  # the --executor value that opened it

    async def run_branch(self, work: BranchWork) -> BranchResult:
        """Run the branch to its end and return its result. When cancelled, stop the
        remote work (:func:`request_stop`, then wait a bounded time for it to end)
        before re-raising. Raise :class:`WorkerLostError` if the process running it died."""

    async def run_child(self, work: ChildWork) -> FinalRecord:
        """Run the sub-pipeline to its end and return its final record, as
        :meth:`run_branch` does a branch (same cancellation and worker loss)."""

    async def lost(self) -> str:
        """Return, with the reason, only if the executor itself is lost (its scheduler
        unreachable): the run then fails with exit path ``executor_lost``."""


Opener = Callable[[str, Path], AbstractAsyncContextManager[Executor]]


def request_stop(work: Work, reason: str = "cancel") -> None:
    """Ask the remote side of ``work`` to cancel its traversal (``executor.cancel``, which
    holds ``reason``; a stop already asked keeps its reason)."""
    from attractor_core.runtime.atomic import write_text_atomic

    if not work.cancel_file.exists():
        write_text_atomic(work.cancel_file, reason + "\n")


def scheme(spec: str) -> str:
    """``dask`` of ``dask://host:8786``, ``dask-local`` of ``dask-local:2``."""
    return spec.split(":", 1)[0]


def executor_opener(pm: pluggy.PluginManager, spec: str) -> Opener | None:
    """The opener of ``spec`` (None for ``local``); a usage error naming the known
    executors if no plugin contributes its scheme."""
    if spec == LOCAL:
        return None
    openers: dict[str, Opener] = {}
    for contributed in reversed(pm.hook.attractor_executors()):  # a later plugin wins
        openers.update(contributed)
    opener = openers.get(scheme(spec))
    if opener is None:
        known = ", ".join([LOCAL, *(f"{s}:..." for s in sorted(openers))])
        raise UsageError(f"--executor {spec!r}: no executor for scheme {scheme(spec)!r} "
                         f"(known: {known}); install the plugin that provides it")
    return opener


def executor_spec(options: Mapping[str, Any]) -> str:
    value = options.get("executor")
    return value if isinstance(value, str) and value else LOCAL

