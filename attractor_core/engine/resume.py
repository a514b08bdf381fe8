"""``resume_pipeline``: continue a run from its checkpoint (spec §5.3, extended).

Restores context, completed nodes, node outcomes (for goal gates), retry
counters, execution counts and the restart count; clears a stale
final.json of a canceled run; appends to progress.ndjson; re-runs the
node that was in flight (continuing its branches and child run, each from
its own checkpoint: engine/continuation.py). A run that already ended is
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pluggy

from attractor_core.config_file import llm_table
from attractor_core.dot import ParseError
from attractor_core.errors import UsageError
from attractor_core.model import Graph, Outcome
from attractor_core.pipeline import load_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.records import evolve
from attractor_core.runtime.atomic import sweep_stale_temp_files
from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.final import ExitPath, FinalRecord, read_final
from attractor_core.runtime.lock import RunLock
from attractor_core.runtime.manifest import Manifest, read_manifest, write_manifest
from attractor_core.runtime.rundir import RunDir, base_run_root
from attractor_core.validation import ValidationError

from .api import open_executor, plain_options, resolve_policy
from .continuation import fresh_state, read_checkpoint, resume_point
from .ending import Ending
from .preflight import check_nodes
from .run import Engine
from .setup import EventObserver, event_bus, run_config
from .signals import RunSignals, watching_signals
from .state import RunState
from .subruns import SUBRUNS
from .topology import find_start
from .workspace import open_workspace


async def resume_pipeline(
    logs_root: str | Path, *, options: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None, policy_overrides: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None, on_event: EventObserver | None = None,
    handle_signals: bool = True,
) -> FinalRecord:
    # Signals are caught from before the run's lock is taken until it is released.
    async with watching_signals(handle_signals) as signals, AsyncExitStack() as resources:
        return await _resume_pipeline_watched(
            logs_root, options=options, config=config, policy_overrides=policy_overrides,
            pm=pm, on_event=on_event, signals=signals, resources=resources)


async def _resume_pipeline_watched(
    logs_root: str | Path, *, options: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None, policy_overrides: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None, on_event: EventObserver | None = None,
    signals: RunSignals, resources: AsyncExitStack,
) -> FinalRecord:
    pm = pm or make_plugin_manager()
    run_dir = RunDir(base_run_root(Path(logs_root).resolve()))
    manifest = read_manifest(run_dir.manifest)
    lock = RunLock(run_dir.lock, manifest.run_id, stops_on_signal=signals.watched)
    lock.acquire()
    try:
        _refuse_finished(run_dir)
        sweep_stale_temp_files(run_dir.root)
        try:
            graph = load_pipeline(run_dir.graph_copy, pm, manifest.overrides)
        except (ParseError, ValidationError) as exc:
            graph, invalid = Graph(manifest.graph_name), str(exc)
        else:
            invalid = ""
        policy = resolve_policy(graph, config or manifest.policy, policy_overrides or {})
        merged = run_options(manifest.options, options)
        executor = await open_executor(resources, pm, merged, run_dir.root)
        if not invalid:
            check_nodes(pm, graph, merged)
        checkpoint = _load(run_dir)
        workspace = await open_workspace(
            pm, workdir=Path(manifest.workdir), logs_root=run_dir.root, run_id=manifest.run_id,
            options=merged, resume_from=checkpoint.workspace if checkpoint else {})
        run_conf = run_config(
            graph=graph, run_id=manifest.run_id, run_dir=run_dir,
            workdir=workspace.workdir if workspace else Path(manifest.workdir),
            dot_path=Path(manifest.dot_file), pm=pm, policy=policy, options=merged,
            subruns=SUBRUNS, executor=executor)
        state = RunState.from_checkpoint(checkpoint) if checkpoint else fresh_state(graph)
        engine = Engine(run_conf, event_bus(run_conf, on_event), state, started_at=utc_now_iso(),
                        workspace=workspace,
                        journal_seq=checkpoint.journal_seq if checkpoint else 0)
        signals.attach(engine)
        if invalid:
            engine.cancel(ending=Ending.failed(ExitPath.INVALID_GRAPH, reason=(
                f"the run's graph no longer validates: {invalid}"), failure_class="structural"))
            run_dir.final.unlink(missing_ok=True)
            return await engine.execute(find_start(graph).id if graph.nodes else "", resumed=True)
        start, first = _where_to_continue(checkpoint, state, graph, run_dir)
        # Only now, with every input accepted, does the interrupted run's ending go; the
        # options given to this resume are recorded, so a later resume (and a remote
        # executor's worker, which reads them back) runs with them too.
        run_dir.final.unlink(missing_ok=True)
        _record_options(run_dir, manifest, options)
        return await engine.execute(start, resumed=True, first_outcome=first)
    finally:
        lock.release()


def _record_options(run_dir: RunDir, manifest: Manifest, given: Mapping[str, Any] | None) -> None:
    recorded = {**manifest.options, **plain_options(given or {})}
    if recorded != manifest.options:
        write_manifest(run_dir.manifest, evolve(manifest, options=recorded))


def _refuse_finished(run_dir: RunDir) -> None:
    """A run that ended other than by an interruption is not resumed."""
    final = read_final(run_dir.final)
    if final is not None and not final.can_resume:
        raise UsageError(f"run {final.run_id} already finished ({final.status}, "
                         f"exit_path {final.exit_path}); there is nothing to resume. "
                         "Start a new run instead")


def run_options(recorded: Mapping[str, str], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's options again; the ``[llm]`` table is re-read from the recorded config file."""
    options: dict[str, Any] = {**recorded, **(given or {})}
    config_file = options.get("config_file")
    if "llm" not in options and isinstance(config_file, str) and Path(config_file).exists():
        llm = llm_table(Path(config_file))
        if llm is not None:
            options["llm"] = llm
    return options


def _load(run_dir: RunDir) -> Checkpoint | None:
    """None if the run was killed before its first stage: it starts from the beginning."""
    try:
        return read_checkpoint(run_dir.checkpoint)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None


def _where_to_continue(checkpoint: Checkpoint | None, state: RunState,
                       graph: Graph, run_dir: RunDir) -> tuple[str, Outcome | None]:
    try:
        return resume_point(checkpoint, state, graph, run_dir.stage_root(state.restart_count))
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
