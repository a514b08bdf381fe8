"""Lint rules for the concurrency nodes' attributes, contributed by this distribution.

They read the attributes with the very code the handlers use
(:meth:`ParallelSettings.from_node`, :meth:`ManagerSettings.from_node`),
so a value the handler would reject mid-run is an error before the run:

* ``parallel_join``: a parallel node has branches and a join where they all
  meet again; without one it could only fail at run time (the wording is
  the handler's own, :func:`join_problem`);
* ``parallel_policy``: ``join_policy``, ``error_policy``, ``k`` (at most the
  branch count), ``quorum_fraction``, ``max_parallel`` of a parallel node;
* ``manager_loop_config``: a manager loop's child dotfile, actions, stop
  condition, steer prompt and counts;
* ``subgraph_dotfile``: a sub-pipeline node names its child pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attractor_core.sdk import Diagnostic, Graph, Node, Severity
from attractor_handlers.joins import branch_starts, join_problem


def _error(rule: str, node: Node, message: str, fix: str) -> Diagnostic:
    return Diagnostic(rule, Severity.ERROR, message, node_id=node.id, fix=fix, line=node.line)


def parallel_join(graph: Graph) -> list[Diagnostic]:
    out = []
    for node in graph.nodes_of_type("parallel"):
        problem = join_problem(graph, node.id)
        if problem is not None:
            out.append(_error("parallel_join", node, *problem))
    return out


def parallel_policy(graph: Graph) -> list[Diagnostic]:
    parallels = graph.nodes_of_type("parallel")
    if not parallels:
        return []
    # Imported only now: a pipeline without a fan-out needs none of the join policies.
    from attractor_handlers.join_policies import JoinPolicy, ParallelSettings, PolicyError

    out = []
    for node in parallels:
        try:
            settings = ParallelSettings.from_node(node)
        except PolicyError as exc:
            out.append(_error("parallel_policy", node, str(exc),
                              "fix the attribute as the message says (docs/concurrency.md, "
                              "Join and error policies)"))
            continue
        count = len(branch_starts(graph, node.id))
        if settings.join_policy is JoinPolicy.K_OF_N and settings.k > count:
            out.append(_error("parallel_policy", node,
                              f"node {node.id}: k={settings.k} but only {count} branches",
                              f"set k to at most {count}"))
    return out


def manager_loop_config(graph: Graph) -> list[Diagnostic]:
    managers = graph.nodes_of_type("stack.manager_loop")
    if not managers:
        return []
    # Imported only now: the manager loop's module loads trio, which validating a
    # pipeline without a manager loop does not need.
    from attractor_handlers.manager_loop import ManagerConfigError, ManagerSettings

    out = []
    for node in managers:
        try:
            ManagerSettings.from_node(node, graph)
        except ManagerConfigError as exc:
            out.append(_error("manager_loop_config", node, str(exc),
                              "fix the attribute as the message says (docs/concurrency.md, "
                              "Manager loop)"))
    return out


def subgraph_dotfile(graph: Graph) -> list[Diagnostic]:
    return [
        _error("subgraph_dotfile", node, f"sub-pipeline node {node.id} has no subgraph.dotfile",
               f'add subgraph.dotfile="child.dot" to {node.id} (relative to this DOT file)')
        for node in graph.nodes_of_type("subgraph") if not node.get("subgraph.dotfile").strip()
    ]


class ConcurrencyRule:
    """A named ``graph -> diagnostics`` rule (the ``LintRule`` protocol)."""

    def __init__(self, check: Callable[[Graph], list[Diagnostic]]):
        self.name = check.__name__
        self.check = check

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return self.check(graph)


def concurrency_rules() -> list[ConcurrencyRule]:
    return [ConcurrencyRule(f) for f in (parallel_join, parallel_policy, manager_loop_config,
                                         subgraph_dotfile)]
