"""Which edge or retry target follows a stage: spec §3.3 edge selection and the
§3.7 retry targets, as pure functions over the graph.

The engine's routing applies them after every stage; lint rules reuse them to
predict where a run goes. Each selection returns a :class:`Route` saying which
edge or node comes next and which rule chose it, so every decision can be
reported as an event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from attractor_core.conditions import evaluate_condition
from attractor_core.records import Record

if TYPE_CHECKING:
    from attractor_core.model import Context, Edge, Graph, Node, Outcome

_ACCELERATOR = re.compile(r"^\s*(\[[^\]]+\]\s*|[A-Za-z0-9]\)\s+|[A-Za-z0-9]\s+-\s+)")


class Route(Record):
    """The next hop. ``edge`` is None for a jump to a retry target."""

    __match_args__ = __slots__ = ("target", "reason", "step", "edge")
    target: str
    # condition|preferred_label|suggested_next_ids|weight|lexical|fail_edge|retry_target
    # |parallel_join
    reason: str
    step: int
    edge: Edge | None

    def __init__(self, target: str, reason: str, step: int, edge: Edge | None = None) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "edge", edge)


def normalize_label(label: str) -> str:
    """Lowercase, trim, and strip accelerator prefixes like ``[Y] ``, ``Y) ``, ``Y - ``."""
    return _ACCELERATOR.sub("", label, count=1).strip().lower()


def _best(edges: Sequence[Edge]) -> Edge:
    return min(edges, key=lambda e: (-e.weight, e.target))


def condition_matches(edges: Sequence[Edge], outcome: Outcome, context: Context) -> list[Edge]:
    """The edges whose condition holds for ``outcome`` in ``context``."""
    return [e for e in edges if e.condition and evaluate_condition(e.condition, outcome, context)]


def select_by_condition(edges: Sequence[Edge], outcome: Outcome, context: Context) -> Route | None:
    """§3.3 step 1: among edges whose condition holds, the best by weight then target."""
    matched = condition_matches(edges, outcome, context)
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


def gate_retry_target(gate: Node, graph: Graph) -> str:
    """The gate's retry target, its fallback, then the graph's two; "" if none exists."""
    for target in (gate.retry_target, gate.fallback_retry_target,
                   graph.retry_target, graph.fallback_retry_target):
        if target and target in graph.nodes:
            return target
    return ""


def failure_retry_target(node: Node, graph: Graph) -> str:
    """§3.7: the node's ``retry_target``, then its ``fallback_retry_target``. A goal
    gate goes on to the graph's two, where the exit would send it anyway (§3.4)."""
    if node.goal_gate:
        return gate_retry_target(node, graph)
    for target in (node.retry_target, node.fallback_retry_target):
        if target and target in graph.nodes:
            return target
    return ""
