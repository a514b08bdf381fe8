"""``resume_pipeline``: continue a run from its checkpoint (spec §5.3, extended).

Restores context, completed nodes, node outcomes (for goal gates), retry
counters, execution counts and the restart count; clears a stale
final.json of a canceled run; appends to progress.ndjson; re-runs the
node that was in flight. A run that already ended is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy

from attractor_core.config_file import llm_table
from attractor_core.dot import ParseError
from attractor_core.errors import UsageError
from attractor_core.model import Context, Graph, Outcome, StageStatus
from attractor_core.pipeline import load_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.runtime.atomic import sweep_stale_temp_files
from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.final import ExitPath, FinalRecord, read_final
from attractor_core.runtime.lock import RunLock
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.rundir import RunDir, base_run_root
from attractor_core.validation import ValidationError

from .api import resolve_policy
from .ending import Ending
from .run import Engine
from .setup import EventObserver, build_services
from .stage import crash_rerun_outcome
from .state import RunState, mirror_graph_attributes
from .topology import find_start
from .workspace import open_workspace

# A run that ended this way may be resumed; any other ending is final.
RESUMABLE_EXIT_PATHS = frozenset({ExitPath.CANCELED, ExitPath.WATCHDOG_STALL,
                                  ExitPath.ENGINE_ERROR, ExitPath.INVALID_GRAPH})


async def resume_pipeline(
    logs_root: str | Path, *, options: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None, policy_overrides: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None, on_event: EventObserver | None = None,
    handle_signals: bool = True,
) -> FinalRecord:
    pm = pm or make_plugin_manager()
    run_dir = RunDir(base_run_root(Path(logs_root).resolve()))
    manifest = read_manifest(run_dir.manifest)
    lock = RunLock(run_dir.lock, manifest.run_id)
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
        run_options = _options(manifest.options, options)
        checkpoint = _load(run_dir)
        workspace = await open_workspace(
            pm, workdir=Path(manifest.workdir), logs_root=run_dir.root, run_id=manifest.run_id,
            options=run_options, resume_from=checkpoint.workspace if checkpoint else {})
        services = build_services(
            graph=graph, run_id=manifest.run_id, run_dir=run_dir,
            workdir=workspace.workdir if workspace else Path(manifest.workdir),
            dot_path=Path(manifest.dot_file), pm=pm, policy=policy, options=run_options,
            on_event=on_event)
        services.workspace = workspace
        state = _state_for(checkpoint, graph)
        engine = Engine(services, state, started_at=utc_now_iso(), handle_signals=handle_signals,
                        journal_seq=checkpoint.journal_seq if checkpoint else 0)
        if invalid:
            engine.cancel(ending=Ending.failed(ExitPath.INVALID_GRAPH, reason=(
                f"the run's graph no longer validates: {invalid}"), failure_class="structural"))
            run_dir.final.unlink(missing_ok=True)
            return await engine.execute(find_start(graph).id if graph.nodes else "", resumed=True)
        start, first = _where_to_continue(checkpoint, state, graph)
        # Only now, with every input accepted, does the interrupted run's ending go.
        run_dir.final.unlink(missing_ok=True)
        return await engine.execute(start, resumed=True, first_outcome=first)
    finally:
        lock.release()



def _refuse_finished(run_dir: RunDir) -> None:
    """A run that ended other than by an interruption is not resumed."""
    final = read_final(run_dir.final)
    if final is not None and final.exit_path not in RESUMABLE_EXIT_PATHS:
        raise UsageError(f"run {final.run_id} already finished ({final.status}, "
                         f"exit_path {final.exit_path}); there is nothing to resume. "
                         "Start a new run instead")


def _options(recorded: Mapping[str, str], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's options again; the ``[llm]`` table is re-read from the recorded config file."""
    options: dict[str, Any] = {**recorded, **(given or {})}
    config_file = options.get("config_file")
    if "llm" not in options and isinstance(config_file, str) and Path(config_file).exists():
        llm = llm_table(Path(config_file))
        if llm is not None:
            options["llm"] = llm
    return options


def _load(run_dir: RunDir) -> Checkpoint | None:
    if not run_dir.checkpoint.exists():
        return None  # killed before its first stage: start from the beginning
    try:
        return load_checkpoint(run_dir.checkpoint)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None


def _state_for(checkpoint: Checkpoint | None, graph: Graph) -> RunState:
    if checkpoint is not None:
        return RunState.from_checkpoint(checkpoint)
    context = Context()
    mirror_graph_attributes(dict(graph.attrs), context)
    return RunState(context=context)


def _where_to_continue(checkpoint: Checkpoint | None, state: RunState,
                       graph: Graph) -> tuple[str, Outcome | None]:
    if checkpoint is None:
        return find_start(graph).id, None
    for node_id in (checkpoint.current_node, checkpoint.next_node):
        if node_id and node_id not in graph.nodes:
            raise UsageError(f"checkpoint names node {node_id!r}, which the graph lacks")
    if checkpoint.in_flight is not None:
        node = graph.nodes[checkpoint.in_flight.node_id]
        reruns = state.crash_reruns.get(node.id, 0)
        if not checkpoint.stopped_cleanly:  # a cancel or stall is not a crash
            reruns += 1
            state.crash_reruns[node.id] = reruns
        return node.id, crash_rerun_outcome(node, reruns)
    if checkpoint.next_node:
        return checkpoint.next_node, None
    # The run ended but died before final.json: replay its last routing decision.
    current = checkpoint.current_node
    record = state.node_outcomes.get(current)
    if state.completed_nodes and state.completed_nodes[-1] == current:
        state.completed_nodes.pop()
    status = StageStatus(record.status) if record else StageStatus.SUCCESS
    return current, Outcome(status, failure_reason=record.failure_reason if record else "",
                            failure_class=record.failure_class if record else "",
                            failed_node_id=record.failed_node_id if record else "")
