"""Goal gate enforcement at the exit node (spec §3.4)."""

from __future__ import annotations

from collections.abc import Mapping

from attractor_core.model import Graph, Node
from attractor_core.runtime.checkpoint import NodeRecord

_PASSING = frozenset({"success", "partial_success"})


def unsatisfied_gates(graph: Graph, outcomes: Mapping[str, NodeRecord]) -> list[Node]:
    """Visited goal-gate nodes whose last outcome is not a success, in declaration order."""
    return [
        node for node_id, node in graph.nodes.items()
        if node.goal_gate and node_id in outcomes and outcomes[node_id].status not in _PASSING
    ]


def gate_retry_target(gate: Node, graph: Graph) -> str:
    """The gate's retry target, its fallback, then the graph's two; "" if none exists."""
    for target in (gate.retry_target, gate.fallback_retry_target,
                   graph.retry_target, graph.fallback_retry_target):
        if target and target in graph.nodes:
            return target
    return ""
