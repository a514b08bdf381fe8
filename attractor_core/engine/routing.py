"""Edge selection (spec §3.3) and failure routing (§3.7, pinned in docs/spec-deltas.md).

Both return a :class:`Route` saying which edge or node comes next and
which rule chose it, so every decision can be reported as an event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from attrs import frozen

from attractor_core.conditions import evaluate_condition
from attractor_core.model import Context, Edge, FailureClass, Graph, Node, Outcome, StageStatus

from .goal_gates import gate_retry_target

RouterTest = Callable[[Node], bool]

_ACCELERATOR = re.compile(r"^\s*(\[[^\]]+\]\s*|[A-Za-z0-9]\)\s+|[A-Za-z0-9]\s+-\s+)")


@frozen
class Route:
    """The next hop. ``edge`` is None for a jump to a retry target."""

    target: str
    # condition|preferred_label|suggested_next_ids|weight|lexical|fail_edge|retry_target
    # |parallel_join
    reason: str
    step: int
    edge: Edge | None = None


def normalize_label(label: str) -> str:
    """Lowercase, trim, and strip accelerator prefixes like ``[Y] ``, ``Y) ``, ``Y - ``."""
    return _ACCELERATOR.sub("", label, count=1).strip().lower()


def _best(edges: Sequence[Edge]) -> Edge:
    return min(edges, key=lambda e: (-e.weight, e.target))


def _condition_matches(edges: Sequence[Edge], outcome: Outcome, context: Context) -> list[Edge]:
    return [e for e in edges if e.condition and evaluate_condition(e.condition, outcome, context)]


def select_by_condition(edges: Sequence[Edge], outcome: Outcome, context: Context) -> Route | None:
    """§3.3 step 1: among edges whose condition holds, the best by weight then target."""
    matched = _condition_matches(edges, outcome, context)
    if not matched:
        return None
    edge = _best(matched)
    return Route(edge.target, "condition", 1, edge)


def select_unconditional(edges: Sequence[Edge], outcome: Outcome) -> Route | None:
    """§3.3 steps 2-5 over the unconditional edges."""
    plain = [e for e in edges if not e.condition]
    if not plain:
        return None
    if outcome.preferred_label:
        wanted = normalize_label(outcome.preferred_label)
        for edge in plain:
            if normalize_label(edge.label) == wanted:
                return Route(edge.target, "preferred_label", 2, edge)
    for suggested in outcome.suggested_next_ids:
        for edge in plain:
            if edge.target == suggested:
                return Route(edge.target, "suggested_next_ids", 3, edge)
    edge = _best(plain)
    tied = sum(1 for e in plain if e.weight == edge.weight) > 1
    return Route(edge.target, "lexical" if tied else "weight", 5 if tied else 4, edge)


def select_edge(node: Node, outcome: Outcome, context: Context, graph: Graph) -> Route | None:
    """The five-step selection of §3.3 for a non-failed outcome."""
    edges = graph.outgoing(node.id)
    if not edges:
        return None
    return select_by_condition(edges, outcome, context) or select_unconditional(edges, outcome)


def route_failure(node: Node, outcome: Outcome, context: Context, graph: Graph,
                  routes_outcome: RouterTest) -> Route | None:
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
    if node.handler_type == "parallel":
        return None  # its unconditional edges are its branches
    onward = [e for e in edges if not e.condition and e.target in graph.nodes
              and (e.loop_restart or routes_outcome(graph.nodes[e.target]))]
    return select_unconditional(onward, outcome)


def failure_retry_target(node: Node, graph: Graph) -> str:
    """§3.7: the node's ``retry_target``, then its ``fallback_retry_target``. A goal
    gate goes on to the graph's two, where the exit would send it anyway (§3.4)."""
    if node.goal_gate:
        return gate_retry_target(node, graph)
    for target in (node.retry_target, node.fallback_retry_target):
        if target and target in graph.nodes:
            return target
    return ""


def route(node: Node, outcome: Outcome, context: Context, graph: Graph,
          routes_outcome: RouterTest) -> Route | None:
    """The next hop after ``node`` ended with ``outcome``; ``routes_outcome`` says
    which nodes are routing points (from the handler registry)."""
    if outcome.status is StageStatus.FAIL:
        return route_failure(node, outcome, context, graph, routes_outcome)
    join = outcome.context_updates.get("parallel.join_node")
    if node.handler_type == "parallel" and isinstance(join, str) and join in graph.nodes:
        return Route(join, "parallel_join", 0)
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
    if _condition_matches(graph.outgoing(node.id), outcome, probe):
        return outcome
    return attrs.evolve(
        outcome, status=StageStatus.FAIL, custom="",
        failure_reason=f"outcome '{outcome.custom}' matched no edge out of {node.id}",
        failure_class=FailureClass.DETERMINISTIC.value,
        details={**outcome.details, UNMATCHED_OUTCOME: outcome.custom})
