"""``failure_route``: warn where a stage's failure stops the run without the author saying so.

After a failed stage the engine follows a matching condition edge, then the
node's retry targets, then an unconditional edge only into a diamond (which
routes on the outcome it passes on); otherwise the run ends ``fail`` with the
stage's reason (docs/spec-deltas.md §1.1). A stage whose only ways out are
unconditional edges to ordinary stages (or to ordinary stages and an exit)
therefore stops the run when it fails, and authors should see that before
they run. A stage whose unconditional edges all go straight into an exit (or
into the join of its parallel branch) is not reported: the run (the branch)
ends there with that failure either way, so the warning would only repeat
itself on every pipeline's last stage.

The rule looks only at stages that can fail in the normal course of things:
start and exit never fail, a diamond passes an outcome on, a parallel node's
unconditional edges are its branches (its join policy decides), and a human
gate fails only when nobody can answer, where stopping is what is wanted.
"""

from __future__ import annotations

from attractor_core.sdk import (
    ConditionSyntaxError,
    Context,
    Diagnostic,
    Edge,
    Graph,
    Node,
    Outcome,
    Severity,
    failure_retry_target,
    is_exit,
    is_start,
    parse_condition,
    select_unconditional,
)
from attractor_handlers.conditional import ConditionalHandler
from attractor_handlers.joins import find_join

RULE = "failure_route"
# Handler types whose nodes never leave a failure of their own to route.
_NOT_ROUTED_HERE = frozenset({"parallel", "wait.human"})
_FAILED = Outcome.fail("")
_EMPTY = Context()


def _routes_outcome(node: Node) -> bool:
    return node.handler_type == "conditional" and ConditionalHandler.routes_outcome


def failure_route(graph: Graph) -> list[Diagnostic]:
    """One warning per stage that can fail and whose failure has nowhere to go. What every
    stage asks of its neighbours (is this target a diamond or an ending, could this
    condition let a failure through) is worked out once per graph."""
    routers = frozenset(n.id for n in graph.nodes_of_type("conditional")
                        if ConditionalHandler.routes_outcome)
    skipped = routers.union(*({n.id for n in graph.nodes_of_type(kind)}
                              for kind in _NOT_ROUTED_HERE))
    exits: set[str] = set()
    candidates: list[Node] = []
    for node in graph.nodes.values():
        if is_exit(node):
            exits.add(node.id)
        elif node.id not in skipped and not is_start(node):
            candidates.append(node)
    joins = (find_join(graph, n.id) for n in graph.nodes_of_type("parallel"))
    routes = _FailureRoutes(graph, routers, frozenset(exits | {j for j in joins if j}))
    return [
        Diagnostic(
            RULE, Severity.WARNING,
            f"a failure of {node.id} stops the run here; add condition=\"outcome=fail\" to "
            "route it",
            node_id=node.id, line=node.line,
            fix=(f'add an edge {node.id} -> <stage that handles it> [condition="outcome=fail"] '
                 f'(or {node.id} -> exit [condition="outcome=fail"] to stop on purpose), a '
                 "retry_target, or route it through a diamond"),
        )
        for node in candidates if routes.stops_on_failure(node)
    ]


class _FailureRoutes:
    """Where a failure can leave a stage, for one graph: ``routers`` are the diamonds,
    ``endings`` the exits and branch joins; condition verdicts are kept per text."""

    def __init__(self, graph: Graph, routers: frozenset[str], endings: frozenset[str]):
        self.graph = graph
        self.routers = routers
        self.endings = endings
        self.conditions: dict[str, bool] = {}

    def stops_on_failure(self, node: Node) -> bool:
        edges = self.graph.outgoing(node.id)
        # Plain loops, not comprehensions: this runs for every stage of the graph.
        plain = leaves = False  # an unconditional edge; one that goes past the endings
        for edge in edges:
            if not edge.condition:
                plain = True
                if edge.target not in self.endings:
                    leaves = True
                    break
        if not plain:
            return False  # only conditional edges: the author chose the routes
        if not leaves:
            # The run (or the branch) would end there anyway, with this failure:
            # stopping at the stage changes nothing worth a warning.
            return False
        if failure_retry_target(node, self.graph):
            return False
        return not any(self.may_route_failure(edge) for edge in edges)

    def may_route_failure(self, edge: Edge) -> bool:
        """Whether a failure could leave along ``edge``: a condition that does not rule
        out ``outcome=fail`` (other keys are unknown before the run), or an
        unconditional edge into a diamond or one that restarts the loop."""
        if not edge.condition:
            return edge.loop_restart or edge.target in self.routers
        verdict = self.conditions.get(edge.condition)
        if verdict is None:
            verdict = self.conditions[edge.condition] = _lets_failure_through(edge.condition)
        return verdict


def _lets_failure_through(condition: str) -> bool:
    try:
        clauses = parse_condition(condition).clauses
    except ConditionSyntaxError:
        return True  # condition_syntax reports it
    return all(c.holds(_FAILED, _EMPTY) for c in clauses if c.key == "outcome")


def unrouted_diamond(graph: Graph) -> list[Diagnostic]:
    """``unrouted_diamond``: a diamond with several outgoing edges and no condition on
    any does not route on the outcome. Without a preferred label from the stage before
    it, it always takes the same edge (weight, then target order), and a failure it
    passes on goes nowhere. Edge labels such as ``success``/``fail`` are not conditions
    (kilroy pipelines write them so)."""
    out: list[Diagnostic] = []
    if not ConditionalHandler.routes_outcome:
        return out
    for node in graph.nodes_of_type("conditional"):
        edges = graph.outgoing(node.id)
        if len(edges) < 2 or any(e.condition for e in edges):
            continue
        chosen = select_unconditional(edges, Outcome.success())
        target = chosen.target if chosen else edges[0].target
        out.append(Diagnostic(
            "unrouted_diamond", Severity.WARNING,
            f"diamond {node.id} has no condition on its edges, so it does not route on the "
            f"outcome: unless the stage before it names a preferred label it always goes to "
            f"{target}, and a failure it passes on stops the run",
            node_id=node.id, line=node.line,
            fix=(f'add condition="outcome=success" and condition="outcome=fail" to the edges '
                 f"leaving {node.id} (labels are not conditions)"),
        ))
    return out
