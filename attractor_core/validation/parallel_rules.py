"""Lint rules for parallel fan-outs (spec §4.8).

``parallel_join``: a parallel node needs branches (its unconditional
outgoing edges) and a join where they all meet again, found exactly as
the engine finds it (:func:`attractor_core.joins.find_join`). Without one
the node could only fail at run time, so it is an error before the run.
:func:`join_problem` holds the wording, which the parallel handler reuses.
"""

from __future__ import annotations

from attractor_core.joins import branch_starts, find_join
from attractor_core.model import Graph
from attractor_core.validation.diagnostics import Diagnostic, Severity


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


def parallel_join(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node in graph.nodes.values():
        problem = join_problem(graph, node.id) if node.handler_type == "parallel" else None
        if problem is not None:
            message, fix = problem
            out.append(Diagnostic("parallel_join", Severity.ERROR, message, node_id=node.id,
                                  fix=fix, line=node.line))
    return out
