"""The engine's next hop after a stage: edge selection (spec §3.3) or failure routing
(§3.7, pinned in docs/spec-deltas.md), built on the pure rules of
:mod:`attractor_core.edge_selection`.
"""

from __future__ import annotations

from typing import Any, Protocol

from attractor_core.edge_selection import (
    Route,
    condition_matches,
    failure_retry_target,
    select_by_condition,
    select_edge,
    select_unconditional,
)
from attractor_core.model import Context, FailureClass, Graph, Node, Outcome, StageStatus
from attractor_core.records import evolve


class NodeRoles(Protocol):
    """What routing asks about a node's handler (its declarations, read by the
    handler registry): is the node a routing point, does it fan out?"""

    def routes_outcome(self, node: Node) -> bool: ...

    def fans_out(self, node: Node) -> bool: ...


def route_failure(node: Node, outcome: Outcome, context: Context, graph: Graph,
                  roles: NodeRoles) -> Route | None:
    """Routing after FAIL (docs/spec-deltas.md §1.1): a matching condition, the
    node's retry targets, then an unconditional edge into a routing point (a
    diamond, which routes on the outcome it passes on) or one that restarts the
    loop (the restart rules judge the failure); None means the run fails with
    the stage's reason. An unconditional edge into any other node is never
    followed: a failure must not run the next stage as if nothing happened."""
    edges = graph.outgoing(node.id)
    by_condition = select_by_condition(edges, outcome, context)
    if by_condition is not None:
        return Route(by_condition.target, "fail_edge", 1, by_condition.edge)
    target = failure_retry_target(node, graph)
    if target:
        return Route(target, "retry_target", 0)
    if roles.fans_out(node):
        return None  # its unconditional edges are its branches
    onward = [e for e in edges if not e.condition and e.target in graph.nodes
              and (e.loop_restart or roles.routes_outcome(graph.nodes[e.target]))]
    return select_unconditional(onward, outcome)


def route(node: Node, outcome: Outcome, context: Context, graph: Graph,
          roles: NodeRoles) -> Route | None:
    """The next hop after ``node`` ended with ``outcome``; ``roles`` (the handler
    registry) says which nodes are routing points and which fan out. An outcome's
    ``resume_at`` (a fan-out's join) wins over edge selection."""
    if outcome.status is StageStatus.FAIL:
        return route_failure(node, outcome, context, graph, roles)
    if outcome.resume_at and outcome.resume_at in graph.nodes:
        return Route(outcome.resume_at, "parallel_join", 0)
    return select_edge(node, outcome, context, graph)


def stage_context_keys(outcome: Outcome) -> dict[str, Any]:
    """The context keys a finished stage sets for conditions and later stages (§3.2 step 4)."""
    return {
        "outcome": outcome.name,
        "preferred_label": outcome.preferred_label,
        "failure_reason": outcome.failure_reason,
        "failure_class": outcome.failure_class,
        "failure_signature": outcome.failure_signature,
        "failed_node_id": outcome.failed_node_id,
    }


UNMATCHED_OUTCOME = "unmatched_outcome"  # details key: a custom outcome no edge took


def settle_custom_outcome(node: Node, outcome: Outcome, context: Context,
                          graph: Graph) -> Outcome:
    """A custom outcome is a routing decision only if some outgoing condition
    matches it, judged on the context as it will be once the stage is recorded;
    otherwise the stage fails (deterministic) naming the outcome and the node."""
    if not outcome.custom:
        return outcome
    probe = Context(context.shallow())
    probe.apply_updates(outcome.context_updates)
    probe.apply_updates(stage_context_keys(outcome))
    if condition_matches(graph.outgoing(node.id), outcome, probe):
        return outcome
    return evolve(
        outcome, status=StageStatus.FAIL, custom="",
        failure_reason=f"outcome '{outcome.custom}' matched no edge out of {node.id}",
        failure_class=FailureClass.DETERMINISTIC.value,
        details={**outcome.details, UNMATCHED_OUTCOME: outcome.custom})
