"""The wording of a fan-out without branches or without a join (spec §4.8).

A fan-out's branches are its unconditional outgoing edges; its join is
where they all meet again, found exactly as the engine finds it
(:func:`attractor_core.joins.find_join`). :func:`join_problem` says what is
missing and how to fix it, for the handler that fans out and for its lint
rule (``parallel_join``, contributed with that handler), so both read alike.
"""

from __future__ import annotations

from attractor_core.joins import branch_starts, find_join
from attractor_core.model import Graph


def join_problem(graph: Graph, node_id: str) -> tuple[str, str] | None:
    """``(message, fix)`` when the parallel node ``node_id`` has no branches or no join."""
    starts = branch_starts(graph, node_id)
    if not starts:
        return (f"parallel node {node_id} has no branches (no unconditional outgoing edge)",
                f"add an edge without a condition from {node_id} to the first node of each "
                "branch")
    if find_join(graph, node_id) is None:
        return (f"parallel node {node_id} has no join: its branches ({', '.join(starts)}) "
                "never reach a common node",
                "add a fan-in node (shape=tripleoctagon) and an edge from the last node of "
                "every branch to it")
    return None
