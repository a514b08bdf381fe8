"""Lint rules for parallel fan-outs (spec §4.8).

``parallel_join``: a parallel node needs branches (its unconditional
outgoing edges) and a join where they all meet again, found exactly as
the engine finds it (:func:`attractor_core.joins.find_join`). Without one
the node could only fail at run time, so it is an error before the run.
"""

from __future__ import annotations

from attractor_core.joins import branch_starts, find_join
from attractor_core.model import Graph, Node
from attractor_core.validation.diagnostics import Diagnostic, Severity


def _diag(node: Node, message: str, fix: str) -> Diagnostic:
    return Diagnostic("parallel_join", Severity.ERROR, message, node_id=node.id, fix=fix,
                      line=node.line)


def parallel_join(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node in graph.nodes.values():
        if node.handler_type != "parallel":
            continue
        starts = branch_starts(graph, node.id)
        if not starts:
            out.append(_diag(node, f"parallel node {node.id} has no branches (no unconditional "
                                   "outgoing edge)",
                             f"add an edge without a condition from {node.id} to the first "
                             "node of each branch"))
        elif find_join(graph, node.id) is None:
            out.append(_diag(node, f"parallel node {node.id} has no join: its branches "
                                   f"({', '.join(starts)}) never reach a common node",
                             "add a fan-in node (shape=tripleoctagon) and an edge from the "
                             "last node of every branch to it"))
    return out
