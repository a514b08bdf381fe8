"""Finding where a parallel node's branches meet again (its join node).

The join is the fan-in node (``shape=tripleoctagon``) reachable from every
branch, else the nearest node every branch reaches; "nearest" minimises
the longest branch distance, then the total distance, then the node id.
Every search is an iterative BFS, linear in the size of the graph. The
parallel handler, its lint rules and ``failure_route`` all find the join
here, and :func:`join_problem` words a missing one alike for the handler
and the ``parallel_join`` rule.
"""

from __future__ import annotations

from collections import deque

from attractor_core.sdk import Graph


def branch_starts(graph: Graph, node_id: str) -> list[str]:
    """A parallel node's branches are its unconditional outgoing edges, in order."""
    return [e.target for e in graph.outgoing(node_id) if not e.condition]


def _distances(graph: Graph, start: str) -> dict[str, int]:
    dist = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for edge in graph.outgoing(current):
            if edge.target not in dist and edge.target in graph.nodes:
                dist[edge.target] = dist[current] + 1
                queue.append(edge.target)
    return dist


def find_join(graph: Graph, node_id: str) -> str | None:
    starts = branch_starts(graph, node_id)
    if not starts:
        return None
    maps = [_distances(graph, s) for s in starts]
    common = set(maps[0]).intersection(*maps[1:]) - set(starts) - {node_id}
    if not common:
        return None
    fan_ins = [n for n in common if graph.nodes[n].handler_type == "parallel.fan_in"]
    pool = fan_ins or sorted(common)
    return min(pool, key=lambda n: (max(m[n] for m in maps), sum(m[n] for m in maps), n))


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
