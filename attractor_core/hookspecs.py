"""Every hook of the attractor kernel.

Plugins implement these with ``@attractor_core.hookimpl`` and are found
through the ``attractor`` entry-point group (see ``plugins.py``). Hooks
that collect contributions are called on every plugin and return a list
in pluggy's call order (last registered first); hooks where one answer
wins are ``firstresult``.

These are the hooks the kernel calls. A hook that only plugins call (the
codergen handler asking for backends, the LLM layer for a failover policy)
is declared by the plugin that calls it, through
:func:`attractor_add_hookspecs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from attractor_core.attributes import AttributeSpec
    from attractor_core.model import Node, Outcome
    from attractor_core.protocols import (
        EventSink,
        Handler,
        LintRule,
        RunWorkspace,
        StatusSource,
        Transform,
    )
    from attractor_core.runtime.events import Event

PROJECT = "attractor"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(historic=True)
def attractor_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Declare a plugin's own hooks: call ``pluginmanager.add_hookspecs(module)``.

    Called once for every plugin as it is registered, before its other hooks
    are checked (a historic hook, like pytest's ``pytest_addhooks``). Other
    plugins implement the hooks declared here as they implement the kernel's;
    one that implements a hook of a distribution that may be missing marks
    its implementation ``@hookimpl(optionalhook=True)``.
    """


@hookspec
def attractor_handler_types() -> Mapping[str, Handler]:
    """Contribute node handlers, keyed by handler type (``"tool"``, ``"wait.human"``...).

    Called once when a run or a validation builds its handler registry.
    Return a mapping of type string to handler instance. When two plugins
    provide the same type, the plugin registered later wins (entry-point
    plugins are registered after the kernel's own), so a third-party
    package can replace a built-in handler.
    """


@hookspec
def attractor_attribute_schema() -> Mapping[str, Sequence[AttributeSpec]]:
    """Declare the DOT attributes this plugin reads: name, type, default and a doc line.

    Called once per validation and once per pipeline load (the stylesheet
    transform asks which properties exist). Return a mapping from where the attributes
    are written to their :class:`~attractor_core.attributes.AttributeSpec`
    entries: a handler type (``"tool"``) for nodes that type runs, ``"*"``
    for every node, ``"edge"`` for edges, ``"graph"`` for the graph. A
    plugin that reads attributes on another plugin's nodes (a codergen
    backend) declares them under that handler type. All declarations are
    merged. The ``unknown_attribute`` lint warns about any attribute that
    no declaration names (Graphviz layout attributes excepted), suggesting
    the closest declared one; the nodes of a handler type that has no
    declaration at all are not checked. A node attribute declared with
    ``stylesheet=True`` may also be set by the model stylesheet.
    """


@hookspec
def attractor_lint_rules() -> Sequence[LintRule]:
    """Contribute validation rules (spec §7.4).

    Called once per validation. Return rule objects with a ``name`` and an
    ``apply(graph) -> list[Diagnostic]`` method. The kernel's built-in
    rules come from its own internal plugin; every rule runs on every graph.
    """


@hookspec
def attractor_transforms() -> Sequence[Transform]:
    """Contribute graph transforms (spec §9.3).

    Called once per pipeline preparation, after parsing and before
    validation. The kernel applies its built-in transforms (``$goal``
    expansion, then the model stylesheet) first, then these, plugin by
    plugin in registration order and, within one plugin, in list order.
    """


@hookspec
def attractor_event_sinks(logs_root: Path, run_id: str) -> Sequence[EventSink]:
    """Contribute event sinks for one run.

    Called once when a run (or a resume) starts, after ``logs_root``
    exists. Return objects with ``emit(event: Mapping)`` and ``close()``;
    every event of the run reaches every sink in ``seq`` order.
    """


@hookspec
def attractor_status_sources() -> Sequence[StatusSource]:
    """Contribute places where an agent may leave a stage's ``status.json``.

    Called once per run. Each source has a ``name``, a ``precedence`` (lower
    is consulted first), ``canonical`` (true only for the stage dir's own
    file) and ``path(stage_dir, workdir, run_id)``. After each attempt the
    engine ingests the first valid source it owns; fallback files are
    cleared before each attempt. With no source registered, the engine
    reads the canonical ``{stage_dir}/status.json`` only.
    """


@hookspec(firstresult=True)
def attractor_classify_failure(
    reason: str, node: Node, outcome: Outcome, error: BaseException | None
) -> str | None:
    """Classify a failure that carries no explicit class hint.

    Called when a stage attempt fails and neither the status file nor the
    handler named a ``failure_class``. Return one of ``transient_infra``,
    ``deterministic``, ``canceled``, ``budget_exhausted``,
    ``compilation_loop`` or ``structural``, or ``None`` to pass. The first
    non-``None`` answer wins; the built-in heuristics run last.
    """


@hookspec
def attractor_cli_options(command: str, parser: argparse.ArgumentParser) -> Sequence[str]:
    """Add a plugin's own options to the ``attractor`` sub-command ``command``.

    Called once per sub-command (``run``, ``resume``...) when the CLI builds
    its parser. Add arguments to ``parser`` and return their ``dest`` names.
    For ``run`` and ``resume``, each returned option whose value is neither
    ``None`` nor ``False`` reaches the run's options under its ``dest`` name
    (``True`` as ``"true"``), is recorded in manifest.json, and is therefore
    seen again by a resume. Option names must not clash with the kernel's.
    """


@hookspec
def attractor_cli_commands(subparsers: Any) -> None:
    """Add whole sub-commands to ``attractor``.

    Called once when the CLI builds its parser, with the ``add_subparsers``
    object. A command's parser must ``set_defaults(handler=fn)`` where
    ``fn(args) -> int`` returns the exit code (0 ok, 1 failed, 2 invalid
    input); raising ``UsageError`` prints its message and exits 2.
    Called only when the command line names a command no built-in knows (or
    one that takes plugin options); ``attractor --help`` lists the commands
    declared in the ``attractor.commands`` entry-point group instead
    (docs/plugins.md, Commands).
    """


@hookspec
def attractor_event_types() -> Sequence[type[Event]]:
    """Contribute the event classes a plugin emits (frozen attrs ``Event`` subclasses).

    Called by tooling that documents or checks every event (docs/events.md
    lists them all); the engine itself emits any ``Event`` it is given.
    """


@hookspec(firstresult=True)
def attractor_run_workspace(
    workdir: Path, logs_root: Path, run_id: str, options: Mapping[str, Any],
    resume_from: Mapping[str, Any] | None,
) -> RunWorkspace | None:
    """Take charge of where the run's stages work.

    Called once when a run starts (after its logs root exists and its lock
    is held, before manifest.json is written) with ``resume_from=None``, and
    once when it resumes, with the workspace record of its checkpoint (``{}``
    if the checkpoint holds none). ``workdir`` is the directory the user
    gave. Return a :class:`~attractor_core.protocols.RunWorkspace` (the
    engine then awaits its ``start()``), or ``None`` to leave the run in
    ``workdir`` (the engine then calls nothing else). Raise ``UsageError``
    here or from ``start()`` to refuse the run (exit 2, nothing runs).
    The first non-``None`` answer wins. It is called on every run: a plugin
    that passes must answer cheaply.
    """


@hookspec(firstresult=True)
def attractor_branch_workspace(
    record: Mapping[str, Any], logs_root: Path, run_id: str, options: Mapping[str, Any],
) -> RunWorkspace | None:
    """Serve, in another process, the branches of a run whose workspace is yours.

    Called on an executor's worker (``attractor_core.executors``) for each branch it is
    sent, with the ``record()`` of the run's workspace taken when the branch was
    dispatched. Return a workspace whose ``start()`` attaches to the run's (no run
    setup: the parent did that) and whose ``open_branch``, ``stage_completed`` and
    ``close_branch`` serve the branch as they would in the parent; the parent then
    calls ``adopt_branch`` at the fan-in with what ``close_branch`` returned. Return
    ``None`` if the record is not yours. The parent sends a run's branches out only when
    its workspace declares ``remote_branches = True``; otherwise they stay in its process.
    """


@hookspec(firstresult=True)
def attractor_locate_run(options: Mapping[str, Any], workdir: Path) -> Path | None:
    """Find (or rebuild) the logs root of a run that ``resume`` names by plugin options.

    Called by ``attractor resume`` when no ``--logs-root`` is given, with the
    plugin CLI options of that command and the current directory. Return the
    logs root to resume, ``None`` if the options are not yours, or raise
    ``UsageError`` saying why the run cannot be found.
    """


@hookspec(firstresult=True)
def attractor_workspace_summary(record: Mapping[str, Any]) -> Mapping[str, str] | None:
    """Name the few things a person needs to find a run's work, from its workspace record.

    Called by ``attractor run --detach`` (with the record of the ``run_started`` event) and
    ``attractor runs`` (with the record of the run's checkpoint or final.json). Return an
    ordered mapping of label to value (git isolation: ``worktree`` and ``run_branch``), or
    ``None`` if the record is not yours. ``run --detach`` prints every entry as
    ``label: value``; ``runs`` lists them all in ``--json`` and the first one in its table.
    """


@hookspec
def attractor_executors() -> Mapping[str, Any]:
    """Contribute executors (where a run's parallel branches run), keyed by scheme.

    Called once when a run or a resume starts with ``--executor SPEC`` other than
    ``local``; the scheme is SPEC up to its first ``:`` (``dask`` of
    ``dask://host:8786``). Each value is ``opener(spec, logs_root)``, an async context
    manager that connects and yields an :class:`~attractor_core.executors.Executor`, or
    raises ``UsageError`` (exit 2, nothing runs) when it cannot. Import heavy modules
    inside the opener only.
    """


@hookspec
def attractor_merge_plugin_state(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Add a sub-run's plugin state to its run's, in place.

    ``into`` is the run-wide plugin state by plugin name (``StageRun.plugin_state``);
    ``other`` the same map of a sub-run that ended: a sub-pipeline, or a parallel branch
    that a remote executor ran with plugin state of its own. Each plugin merges the entry
    of its own name, if ``other`` has one (adding up what it counts, say), and leaves the
    others alone. Called once per sub-run (a resume does not call it again for one
    already merged); for a sub-run stopped before its end, on a copy of ``into`` for
    final.json only, since a resume continues that sub-run's own count.
    """
