"""``loop_restart`` edges: a fresh stage directory ``restart-N/`` and a fresh
context, bounded by the graph's ``max_restarts``."""

from __future__ import annotations

from attractor_core.edge_selection import Route
from attractor_core.model import Context, FailureClass, Node, Outcome, StageStatus
from attractor_core.runtime.events import LoopRestart, LoopRestartBlocked
from attractor_core.runtime.final import ExitPath

from .cycle_breaker import check_restart
from .ending import Ending
from .services import Lane, RunServices
from .state import mirror_graph_attributes


def _gate(services: RunServices, lane: Lane, node: Node, hop: Route) -> Ending | None:
    """A failure may restart the loop only when it is transient, and not forever."""
    last = lane.state.last_outcome
    if last is None or last.status != StageStatus.FAIL.value:
        return None
    if last.failure_class != FailureClass.TRANSIENT_INFRA.value:
        services.emit(LoopRestartBlocked(node.id, hop.target, last.failure_class,
                                         last.failure_reason))
        return Ending.failed(ExitPath.LOOP_RESTART_BLOCKED, last, abort_reason=(
            f"loop_restart blocked: failure_class={last.failure_class} (requires "
            f"transient_infra), node={node.id}"))
    outcome = Outcome(StageStatus.FAIL, failure_reason=last.failure_reason,
                      failure_class=last.failure_class, failure_signature=last.failure_signature,
                      failed_node_id=last.failed_node_id)
    return check_restart(services, lane, node, outcome)


def loop_restart(services: RunServices, lane: Lane, node: Node, hop: Route) -> Ending | None:
    """Start a new iteration at ``hop.target``; an Ending if that is not allowed."""
    graph = services.config.graph
    if lane.branch_key:
        return Ending.failed(ExitPath.STAGE_FAILED, reason=(
            f"loop_restart edge {node.id} -> {hop.target} inside parallel branch "
            f"{lane.branch_key} is not supported"), failure_class="structural", node_id=node.id)
    state = lane.state
    blocked = _gate(services, lane, node, hop)
    if blocked is not None:
        return blocked
    if state.restart_count + 1 > graph.max_restarts:
        return Ending.failed(ExitPath.LOOP_RESTART_LIMIT, state.last_outcome, reason=(
            f"loop_restart limit exceeded ({state.restart_count} restarts, "
            f"max {graph.max_restarts})"), node_id=node.id)
    state.restart_count += 1
    keep = [k.strip() for k in graph.get("loop_restart_persist_keys").split(",") if k.strip()]
    old = state.context
    fresh = Context(logs=list(old.logs))
    mirror_graph_attributes(dict(graph.attrs), fresh)
    fresh.apply_updates({k: old.get(k) for k in keep if k in old})
    state.context = fresh
    state.node_retries.clear()
    state.node_outcomes.clear()
    state.node_visits.clear()
    fresh.apply_updates({"loop_restart.iteration_count": state.restart_count,
                         "loop_restart.from_node": node.id})
    state.last_outcome = None
    logs_dir = lane.stage_root()
    logs_dir.mkdir(parents=True, exist_ok=True)
    services.emit(LoopRestart(node.id, hop.target, state.restart_count, str(logs_dir)))
    return None
