"""Goal gate enforcement at the exit node (spec §3.4)."""

from __future__ import annotations

from collections.abc import Mapping

from attractor_core.model import Graph, Node, outcome_passes
from attractor_core.runtime.checkpoint import NodeRecord


def unsatisfied_gates(graph: Graph, outcomes: Mapping[str, NodeRecord]) -> list[Node]:
    """Visited goal-gate nodes whose last outcome does not pass (success, partial success
    or a custom routing decision), in declaration order."""
    return [
        node for node_id, node in graph.nodes.items()
        if node.goal_gate and node_id in outcomes and not outcome_passes(outcomes[node_id].status)
    ]

