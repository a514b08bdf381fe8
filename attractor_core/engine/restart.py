"""``loop_restart`` edges: a fresh stage directory ``restart-N/`` and a fresh
context, bounded by the graph's ``max_restarts``."""

from __future__ import annotations

from attractor_core.model import Context, Node
from attractor_core.runtime.events import LoopRestart
from attractor_core.runtime.final import ExitPath

from .ending import Ending
from .routing import Route
from .services import Lane, RunServices
from .state import mirror_graph_attributes


def loop_restart(services: RunServices, lane: Lane, node: Node, hop: Route) -> Ending | None:
    """Start a new iteration at ``hop.target``; an Ending if that is not allowed."""
    graph = services.graph
    if lane.branch_key:
        return Ending.failed(ExitPath.STAGE_FAILED, reason=(
            f"loop_restart edge {node.id} -> {hop.target} inside parallel branch "
            f"{lane.branch_key} is not supported"), failure_class="structural", node_id=node.id)
    state = lane.state
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
    state.last_outcome = None
    logs_dir = lane.stage_root()
    logs_dir.mkdir(parents=True, exist_ok=True)
    services.emit(LoopRestart(node.id, hop.target, state.restart_count, str(logs_dir)))
    return None
