"""Cycle breakers: stop a run that repeats the same failure or spins on a node.

One code path for the main loop, parallel branches and sub-pipelines:
each lane's ``RunState`` holds its counters, and the checkpoint keeps
them across resume and loop restarts.
"""

from __future__ import annotations

from attractor_core.model import FailureClass, Graph, Node, Outcome, StageStatus
from attractor_core.runtime.events import CycleBreaker, CycleCheck, NodeVisitBreaker
from attractor_core.runtime.final import ExitPath

from .ending import Ending
from .services import Lane, RunServices
from .state import record_of

COUNTED_CLASSES = frozenset({FailureClass.DETERMINISTIC.value, FailureClass.STRUCTURAL.value})
DEFAULT_SIGNATURE_LIMIT = 3
DEFAULT_MAX_NODE_VISITS = 100


def signature_limit(graph: Graph) -> int:
    value = graph.get_int("loop_restart_signature_limit")
    return value if value is not None and value >= 1 else DEFAULT_SIGNATURE_LIMIT


def visit_limit(graph: Graph) -> int:
    """``max_node_visits`` per node per loop iteration; 0 disables the guard."""
    value = graph.get_int("max_node_visits")
    return DEFAULT_MAX_NODE_VISITS if value is None else max(0, value)


def check_visit(services: RunServices, lane: Lane, node: Node) -> Ending | None:
    visits = lane.state.node_visits
    visits[node.id] = visits.get(node.id, 0) + 1
    limit = visit_limit(services.config.graph)
    if not limit or visits[node.id] <= limit:
        return None
    lane.flush_checkpoint()  # the edge here is announced before the breaker's verdict
    services.emit(NodeVisitBreaker(node.id, visits[node.id], limit, lane.branch_key))
    return Ending.failed(
        ExitPath.CYCLE_BREAKER, lane.state.last_outcome, node_id=node.id,
        abort_reason=(f"node {node.id} visited {visits[node.id]} times in this iteration "
                      f"(max_node_visits {limit}); the pipeline is stuck in a cycle"),
        reason=lane.state.last_outcome.failure_reason if lane.state.last_outcome else
        f"node {node.id} visited more than {limit} times")


def check_failure(services: RunServices, lane: Lane, node: Node, outcome: Outcome) -> Ending | None:
    """Count a deterministic or structural failure once, where it happened."""
    if (outcome.status is not StageStatus.FAIL or outcome.failure_class not in COUNTED_CLASSES
            or outcome.failed_node_id not in ("", node.id)):
        return None
    return _count(services, lane, "failure", node.id, outcome, lane.state.failure_signatures)


def check_restart(services: RunServices, lane: Lane, node: Node, outcome: Outcome) -> Ending | None:
    """Count a failed iteration that asks for a loop restart."""
    return _count(services, lane, "restart", node.id, outcome, lane.state.restart_signatures)


def _count(services: RunServices, lane: Lane, kind: str, node_id: str, outcome: Outcome,
           counters: dict[str, int]) -> Ending | None:
    signature = outcome.failure_signature
    counters[signature] = counters.get(signature, 0) + 1
    count, limit = counters[signature], signature_limit(services.config.graph)
    services.emit(CycleCheck(kind, node_id, signature, count, limit, outcome.failure_class,
                             lane.branch_key))
    if count < limit:
        return None
    services.emit(CycleBreaker(kind, node_id, signature, count, limit, lane.branch_key))
    what = "deterministic failure cycle" if kind == "failure" else "loop_restart circuit breaker"
    return Ending.failed(ExitPath.CYCLE_BREAKER, record_of(outcome), abort_reason=(
        f"{what}: signature {signature!r} repeated {count} times (limit {limit})"))
