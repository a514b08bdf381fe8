"""The Python API of the engine: :func:`run_pipeline` and :func:`resume_pipeline`.

Both are async (run them with ``trio.run``) and return the
:class:`FinalRecord` that was written to ``final.json``. Input problems
found before the run exists raise (``ParseError``, ``ValidationError``,
``UsageError``); everything after is reported through final.json.
Cancelling the caller's cancel scope ends the run as ``canceled``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pluggy

from attractor_core.errors import UsageError
from attractor_core.executors import Executor, executor_opener, executor_spec
from attractor_core.model import ValueFormatError
from attractor_core.pipeline import load_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.policy import RunPolicy
from attractor_core.runtime.atomic import sweep_stale_temp_files, write_text_atomic
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.final import FinalRecord
from attractor_core.runtime.lock import RunLock
from attractor_core.runtime.manifest import Manifest, write_manifest
from attractor_core.runtime.rundir import (
    RunDir,
    create_logs_root,
    refuse_existing_run,
    run_places,
)

from .preflight import check_nodes
from .run import Engine, record_setup_failure
from .setup import EventObserver, event_bus, new_run_id, run_config
from .signals import RunSignals, watching_signals
from .state import RunState, mirror_graph_attributes
from .subruns import SUBRUNS
from .topology import find_start
from .workspace import open_workspace

# A run id names a directory under .attractor/runs: one safe path component.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def resolve_policy(graph: Any, config: Mapping[str, str], cli: Mapping[str, str]) -> RunPolicy:
    try:
        return RunPolicy.resolve(graph, config, cli)
    except ValueFormatError as exc:
        raise UsageError(f"invalid run policy: {exc}") from None


async def run_pipeline(
    dot_path: str | Path, *, logs_root: str | Path | None = None,
    workdir: str | Path | None = None, run_id: str | None = None,
    options: Mapping[str, Any] | None = None, overrides: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None, policy_overrides: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None, on_event: EventObserver | None = None,
    handle_signals: bool = True,
) -> FinalRecord:
    """Run the pipeline in ``dot_path`` from its start node to its end."""
    # Signals are caught from before the run's lock is taken until it is released.
    async with watching_signals(handle_signals) as signals, AsyncExitStack() as resources:
        return await _run_pipeline_watched(
            dot_path, logs_root=logs_root, workdir=workdir, run_id=run_id, options=options,
            overrides=overrides, config=config, policy_overrides=policy_overrides, pm=pm,
            on_event=on_event, signals=signals, resources=resources)


async def _run_pipeline_watched(
    dot_path: str | Path, *, logs_root: str | Path | None = None,
    workdir: str | Path | None = None, run_id: str | None = None,
    options: Mapping[str, Any] | None = None, overrides: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None, policy_overrides: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None, on_event: EventObserver | None = None,
    signals: RunSignals, resources: AsyncExitStack,
) -> FinalRecord:
    pm = pm or make_plugin_manager()
    source = Path(dot_path).resolve()
    graph = load_pipeline(source, pm, overrides)
    policy = resolve_policy(graph, config or {}, policy_overrides or {})
    check_nodes(pm, graph, options or {})
    run_id = run_id or new_run_id()
    if not _RUN_ID.fullmatch(run_id):
        raise UsageError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
                         "(it names the run's directory)")
    work, root = run_places(workdir, logs_root, run_id)
    run_dir = RunDir(root)
    # Connected before the run directory exists: an unreachable executor leaves nothing.
    executor = await open_executor(resources, pm, options or {}, root)
    created = create_logs_root(root)
    lock = RunLock(run_dir.lock, run_id, stops_on_signal=signals.watched)
    lock.acquire()
    try:
        refuse_existing_run(run_dir)
        sweep_stale_temp_files(root)
        try:
            workspace = await open_workspace(pm, workdir=work, logs_root=root, run_id=run_id,
                                             options=options or {}, resume_from=None)
        except UsageError:
            if created:  # refused before anything ran: leave no half-made run behind
                lock.release()
                shutil.rmtree(root, ignore_errors=True)
            raise
        started = utc_now_iso()
        # The graph copy goes first: manifest.json marks a resumable run, so a
        # crash between the two writes must not leave a manifest without its graph.
        write_text_atomic(run_dir.graph_copy, source.read_text(encoding="utf-8"))
        write_manifest(run_dir.manifest, Manifest(
            run_id=run_id, graph_name=graph.name, goal=graph.goal, dot_file=str(source),
            workdir=str(work), logs_root=str(root), started_at=started,
            overrides=dict(overrides or {}), options=plain_options(options or {}),
            policy={**(config or {}), **(policy_overrides or {})}))
        try:
            run_conf = run_config(graph=graph, run_id=run_id, run_dir=run_dir,
                                workdir=workspace.workdir if workspace else work,
                                dot_path=source, pm=pm, policy=policy, options=options or {},
                                subruns=SUBRUNS, executor=executor)
            bus = event_bus(run_conf, on_event)
        except Exception as exc:  # a plugin failed while the run was being set up
            record_setup_failure(run_dir, run_id, started, exc)
            raise
        # Every checkpoint, the first included, says where the run works: a resume then
        # finds the same workspace whenever it was interrupted.
        state = RunState(context=_initial_context_state(graph),
                         workspace=workspace.record() if workspace else {})
        engine = Engine(run_conf, bus, state, started_at=started, workspace=workspace)
        signals.attach(engine)
        return await engine.execute(find_start(graph).id)
    finally:
        lock.release()


async def open_executor(resources: AsyncExitStack, pm: pluggy.PluginManager,
                        options: Mapping[str, Any], logs_root: Path) -> Executor | None:
    """The run's executor, open until ``resources`` closes; None for ``local``. Raises
    ``UsageError`` for an unknown scheme or an executor that cannot be reached."""
    spec = executor_spec(options)
    opener = executor_opener(pm, spec)
    if opener is None:
        return None
    executor: Executor = await resources.enter_async_context(opener(spec, logs_root))
    return executor


def _initial_context_state(graph: Any) -> Any:
    from attractor_core.model import Context

    context = Context()
    mirror_graph_attributes(dict(graph.attrs), context)
    return context


def plain_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The options worth recording in the manifest (strings only; objects are not resumable)."""
    return {k: v for k, v in options.items() if isinstance(v, str)}
