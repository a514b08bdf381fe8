"""Finding the start and exit nodes: the engine uses the same definitions as
the ``start_node`` and ``terminal_node`` lint rules, so the two never disagree."""

from __future__ import annotations

from attractor_core.errors import RunError
from attractor_core.model import Graph, Node
from attractor_core.validation.rules import is_exit, start_candidates

__all__ = ["find_start", "is_exit"]


def find_start(graph: Graph) -> Node:
    candidates = start_candidates(graph)
    if not candidates:
        raise RunError("the graph has no start node (shape=Mdiamond)")
    return candidates[0]
