"""The kernel's lint rules: one function per rule, named after its rule id.

The rules of spec §7.2 come first, then our extras (documented in
docs/dot-reference.md). They check the kernel's own attributes only; a
handler's attributes are checked by the rules its plugin contributes (the
spec's ``prompt_on_llm_nodes`` is the codergen handler's). Each takes the
graph and returns diagnostics with node/edge, line and a fix; ``validate``
fills in the file. Every rule is iterative and linear in the size of the
graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping

from attractor_core.conditions import ConditionSyntaxError, parse_condition
from attractor_core.model.graph import Edge, Graph, Node
from attractor_core.model.status import CANONICAL_OUTCOMES, OUTCOME_TOKEN, StageStatus
from attractor_core.model.values import Duration, ValueFormatError, parse_bool, parse_int
from attractor_core.stylesheet import PROPERTIES, StylesheetSyntaxError, parse_stylesheet
from attractor_core.validation.diagnostics import Diagnostic, Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING
START_IDS = frozenset({"start", "Start"})
EXIT_IDS = frozenset({"exit", "Exit", "end", "End"})
EXIT_SHAPES = frozenset({"Msquare", "doublecircle"})
FIDELITY_MODES = ("full", "truncate", "compact", "summary:low", "summary:medium", "summary:high")
REASONING_EFFORTS = ("low", "medium", "high")


# -- helpers shared by the rules (and by the engine to find its start) --------


# Both read the attributes directly (not through .shape and .type): asked of every node by
# several rules and at every stage of a run.
def is_start(node: Node) -> bool:
    attributes = node.attrs
    return (attributes.get("shape", "box") == "Mdiamond" or attributes.get("type") == "start"
            or node.id in START_IDS)


def is_exit(node: Node) -> bool:
    attributes = node.attrs
    return (attributes.get("shape", "box") in EXIT_SHAPES or attributes.get("type") == "exit"
            or node.id in EXIT_IDS)


def start_candidates(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes.values() if is_start(n)]


def exit_candidates(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes.values() if is_exit(n)]


def _graph_line(graph: Graph, key: str = "") -> int:
    return graph.attr_lines.get(key, 1) if key else 1


def _node_diag(rule: str, sev: Severity, node: Node, message: str, fix: str) -> Diagnostic:
    return Diagnostic(rule, sev, message, node_id=node.id, fix=fix, line=node.line)


def _edge_diag(rule: str, sev: Severity, edge: Edge, message: str, fix: str) -> Diagnostic:
    return Diagnostic(rule, sev, message, edge=(edge.source, edge.target), fix=fix, line=edge.line)


def _suggest(name: str, known: Collection[str]) -> str:
    # difflib is quadratic-ish per call; only worth it on graphs a human reads.
    if len(known) > 2_000:
        return ""
    import difflib  # only when a name is unknown: validate usually does without it

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- spec §7.2 --------------------------------------------------------------


def _exactly_one(rule: str, found: list[Node], what: str, shape: str, ids: str) -> list[Diagnostic]:
    if len(found) == 1:
        return []
    if not found:
        fix = f"add: {what} [shape={shape}]"
        return [Diagnostic(rule, ERROR, f"the pipeline has no {what} node", fix=fix, line=1)]
    names = ", ".join(n.id for n in found)
    message = f"the pipeline has {len(found)} {what} nodes ({names})"
    fix = f"keep exactly one node with shape={shape} (ids {ids} also count)"
    return [_node_diag(rule, ERROR, n, message, fix) for n in found[1:]]


def start_node(graph: Graph) -> list[Diagnostic]:
    return _exactly_one("start_node", start_candidates(graph), "start", "Mdiamond", "start/Start")


def terminal_node(graph: Graph) -> list[Diagnostic]:
    """At least one exit: a pipeline may have several (a success exit and a failure
    exit); a run ends with the outcome that led into the exit it reached."""
    if exit_candidates(graph):
        return []
    return [Diagnostic("terminal_node", ERROR, "the pipeline has no exit node",
                       fix="add: exit [shape=Msquare]", line=1)]


def _jump_targets(graph: Graph, node: Node) -> Iterator[str]:
    for edge in graph.outgoing(node.id):
        yield edge.target
    yield from (t for t in (node.retry_target, node.fallback_retry_target) if t)


def reachability(graph: Graph) -> list[Diagnostic]:
    starts = start_candidates(graph)
    if len(starts) != 1:
        return []  # start_node already reports it; reachability has no root
    seen = {starts[0].id}
    # Goal-gate retries jump to the graph's targets from the exit, so they are reachable too.
    seen.update(t for t in (graph.retry_target, graph.fallback_retry_target) if t in graph.nodes)
    queue = deque(seen)
    while queue:
        for target in _jump_targets(graph, graph.nodes[queue.popleft()]):
            if target in graph.nodes and target not in seen:
                seen.add(target)
                queue.append(target)
    return [
        _node_diag(
            "reachability",
            ERROR,
            n,
            f"node {n.id} cannot be reached from the start node {starts[0].id}",
            f"add an edge into {n.id} from a reachable node, or delete it",
        )
        for n in graph.nodes.values()
        if n.id not in seen
    ]


def edge_target_exists(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for edge in graph.edges:
        for end, name in (("source", edge.source), ("target", edge.target)):
            if name not in graph.nodes:
                out.append(
                    _edge_diag(
                        "edge_target_exists",
                        ERROR,
                        edge,
                        f"edge {edge.source} -> {edge.target}: {end} {name} is not a declared node"
                        + _suggest(name, graph.nodes),
                        f"declare the node ({name} [label=...]) or fix the edge's {end}",
                    )
                )
    return out


def start_no_incoming(graph: Graph) -> list[Diagnostic]:
    return [
        _edge_diag(
            "start_no_incoming",
            ERROR,
            edge,
            f"the start node {node.id} has an incoming edge from {edge.source}",
            f"point the edge at the first real stage instead of {node.id}",
        )
        for node in start_candidates(graph)
        for edge in graph.incoming(node.id)
    ]


def exit_no_outgoing(graph: Graph) -> list[Diagnostic]:
    return [
        _edge_diag(
            "exit_no_outgoing",
            ERROR,
            edge,
            f"the exit node {node.id} has an outgoing edge to {edge.target}",
            "delete the edge; to loop, route from a stage before the exit",
        )
        for node in exit_candidates(graph)
        for edge in graph.outgoing(node.id)
    ]


def condition_syntax(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for edge in graph.edges:
        try:
            parse_condition(edge.condition)
        except ConditionSyntaxError as exc:
            out.append(
                _edge_diag(
                    "condition_syntax",
                    ERROR,
                    edge,
                    f"edge {edge.source} -> {edge.target}: {exc.problem} in {exc.condition!r}",
                    exc.hint,
                )
            )
    return out


def stylesheet_syntax(graph: Graph, properties: Collection[str] = PROPERTIES
                      ) -> list[Diagnostic]:
    """``properties``: what a declaration may set (the spec's three and those plugins declare)."""
    try:
        parse_stylesheet(graph.model_stylesheet, properties)
    except StylesheetSyntaxError as exc:
        # The attribute's value may start on the line of ``model_stylesheet=``.
        line = _graph_line(graph, "model_stylesheet") + exc.line - 1
        return [
            Diagnostic(
                "stylesheet_syntax",
                ERROR,
                f"model_stylesheet: {exc.problem}",
                fix=exc.hint or "see docs/dot-reference.md#model-stylesheet",
                line=line,
            )
        ]
    return []


def type_known(graph: Graph, handler_types: Collection[str]) -> list[Diagnostic]:
    known = ", ".join(sorted(handler_types)) or "none installed"
    return [
        _node_diag(
            "type_known",
            WARNING,
            n,
            f"node {n.id} has type {n.type!r}, which no installed handler provides"
            + _suggest(n.type, handler_types),
            f"use a known type ({known}) or install the plugin that provides it",
        )
        for n in graph.nodes.values()
        if n.type and n.type not in handler_types
    ]


def fidelity_valid(graph: Graph) -> list[Diagnostic]:
    fix = f"use one of: {', '.join(FIDELITY_MODES)}"
    out = [
        _node_diag(
            "fidelity_valid", WARNING, n, f"node {n.id}: unknown fidelity {n.fidelity!r}", fix
        )
        for n in graph.nodes.values()
        if n.fidelity and n.fidelity not in FIDELITY_MODES
    ]
    out += [
        _edge_diag(
            "fidelity_valid",
            WARNING,
            e,
            f"edge {e.source} -> {e.target}: unknown fidelity {e.fidelity!r}",
            fix,
        )
        for e in graph.edges
        if e.fidelity and e.fidelity not in FIDELITY_MODES
    ]
    if graph.default_fidelity and graph.default_fidelity not in FIDELITY_MODES:
        out.append(
            Diagnostic(
                "fidelity_valid",
                WARNING,
                f"graph default_fidelity {graph.default_fidelity!r} is unknown",
                fix=fix,
                line=_graph_line(graph, "default_fidelity"),
            )
        )
    return out


def retry_target_exists(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for key in ("retry_target", "fallback_retry_target"):
        for node in graph.nodes.values():
            target = node.attrs.get(key, "")
            if target and target not in graph.nodes:
                out.append(
                    _node_diag(
                        "retry_target_exists",
                        WARNING,
                        node,
                        f"node {node.id}: {key} {target!r} is not a node"
                        + _suggest(target, graph.nodes),
                        f"set {key} to an existing node id",
                    )
                )
        target = graph.attrs.get(key, "")
        if target and target not in graph.nodes:
            out.append(
                Diagnostic(
                    "retry_target_exists",
                    WARNING,
                    f"graph {key} {target!r} is not a node" + _suggest(target, graph.nodes),
                    fix=f"set {key} to an existing node id",
                    line=_graph_line(graph, key),
                )
            )
    return out


def _bool_or_false(node: Node, key: str) -> bool:
    try:
        return node.get_bool(key)
    except ValueFormatError:
        return False  # attribute_value reports it


def goal_gate_has_retry(graph: Graph) -> list[Diagnostic]:
    graph_has_target = bool(graph.retry_target or graph.fallback_retry_target)
    return [
        _node_diag(
            "goal_gate_has_retry",
            WARNING,
            n,
            f"goal gate {n.id} has no retry_target: an unmet gate fails the run at exit",
            f"add retry_target=<node to rerun> to {n.id} (or retry_target on the graph)",
        )
        for n in graph.nodes.values()
        if _bool_or_false(n, "goal_gate")
        and not (n.retry_target or n.fallback_retry_target or graph_has_target)
    ]


# -- extras -----------------------------------------------------------------


def _check_nonneg_int(text: str) -> None:
    if parse_int(text) < 0:
        raise ValueFormatError(f"{text!r} is negative; use 0 or more")


def _check_duration(text: str) -> None:
    Duration.parse(text)


def _check_bool(text: str) -> None:
    parse_bool(text)


def _check_int(text: str) -> None:
    parse_int(text)


Checker = Callable[[str], None]
NODE_TYPED: Mapping[str, Checker] = {
    "max_retries": _check_nonneg_int,
    "goal_gate": _check_bool,
    "auto_status": _check_bool,
    "allow_partial": _check_bool,
    "timeout": _check_duration,
}
EDGE_TYPED: Mapping[str, Checker] = {"weight": _check_int, "loop_restart": _check_bool}
GRAPH_TYPED: Mapping[str, Checker] = {
    "default_max_retries": _check_nonneg_int,
    "default_max_retry": _check_nonneg_int,
    "max_restarts": _check_nonneg_int,
    "loop_restart_signature_limit": _check_nonneg_int,
    "stall_timeout": _check_duration,
    "stall_check_interval": _check_duration,
    "stage_timeout": _check_duration,
    "heartbeat_interval": _check_duration,
    "kill_grace": _check_duration,
}


def _bad_values(
    attrs: Mapping[str, str], typed: Mapping[str, Checker]
) -> Iterator[tuple[str, str]]:
    # A node has a handful of attributes; walking those (not every typed key) keeps this cheap.
    for key, value in attrs.items():
        check = typed.get(key)
        if check is None:
            continue
        try:
            check(value)
        except ValueFormatError as exc:
            yield key, str(exc)


def node_value_errors(graph: Graph, typed: Mapping[str, Checker]) -> list[Diagnostic]:
    """An ``attribute_value`` error for each node attribute that ``typed`` names and whose
    checker raises ``ValueFormatError``; plugins check the attributes they own with it."""
    return [
        _node_diag(
            "attribute_value",
            ERROR,
            n,
            f"node {n.id}: {key}: {problem}",
            f"fix the value of {key} on {n.id}",
        )
        for n in graph.nodes.values()
        for key, problem in _bad_values(n.attrs, typed)
    ]


def attribute_value(graph: Graph) -> list[Diagnostic]:
    out = node_value_errors(graph, NODE_TYPED)
    out += [
        _edge_diag(
            "attribute_value",
            ERROR,
            e,
            f"edge {e.source} -> {e.target}: {key}: {problem}",
            f"fix the value of {key} on the edge",
        )
        for e in graph.edges
        for key, problem in _bad_values(e.attrs, EDGE_TYPED)
    ]
    out += [
        Diagnostic(
            "attribute_value",
            ERROR,
            f"graph attribute {key}: {problem}",
            fix=f"fix the value of {key}",
            line=_graph_line(graph, key),
        )
        for key, problem in _bad_values(graph.attrs, GRAPH_TYPED)
    ]
    return out


def condition_outcome_value(
    graph: Graph, routes_custom: Callable[[Node], bool]
) -> list[Diagnostic]:
    """``outcome=X`` where X can never be the outcome: not a lowercase token, or a custom
    word out of a node whose handler (``routes_custom`` asks the registry) never
    produces custom outcomes."""
    out: list[Diagnostic] = []
    for edge in graph.edges:
        try:
            clauses = parse_condition(edge.condition).clauses
        except ConditionSyntaxError:
            continue  # condition_syntax reports it
        source = graph.nodes.get(edge.source)
        for clause in clauses:
            if clause.key != "outcome" or clause.op == "truthy":
                continue
            problem = _never_outcome(clause.literal, source, routes_custom)
            if problem:
                out.append(_edge_diag(
                    "condition_outcome_value", WARNING, edge,
                    f"edge {edge.source} -> {edge.target}: outcome is never "
                    f"{clause.literal!r} ({problem[0]}), so this clause is constant",
                    problem[1]))
    return out


def _never_outcome(
    literal: str, source: Node | None, routes_custom: Callable[[Node], bool]
) -> tuple[str, str] | None:
    """(why, fix) when ``outcome`` can never equal ``literal``; None when it can."""
    statuses = ", ".join(s.value for s in StageStatus)
    if literal in CANONICAL_OUTCOMES:
        return None
    if not OUTCOME_TOKEN.fullmatch(literal):
        if literal.lower() in CANONICAL_OUTCOMES or OUTCOME_TOKEN.fullmatch(literal.lower()):
            return "outcomes are lowercase", f"write outcome={literal.lower()}"
        return "not an outcome word", f"use one of {statuses}, or a custom word [a-z][a-z0-9_]*"
    if source is None or routes_custom(source):
        return None
    return (
        f"node {source.id}'s handler ({source.handler_type}) never reports custom outcomes",
        f"use one of {statuses}, or route on preferred_label / context.KEY",
    )


def dead_end(graph: Graph) -> list[Diagnostic]:
    return [
        _node_diag(
            "dead_end",
            WARNING,
            n,
            f"node {n.id} has no outgoing edge: the run stops there without reaching exit",
            f"add an edge from {n.id} to the next stage or to the exit",
        )
        for n in graph.nodes.values()
        if not is_exit(n) and not graph.outgoing(n.id)
    ]


def reasoning_effort_valid(graph: Graph) -> list[Diagnostic]:
    return [
        _node_diag(
            "reasoning_effort_valid",
            WARNING,
            n,
            f"node {n.id}: reasoning_effort {n.attrs['reasoning_effort']!r} is unknown",
            f"use one of: {', '.join(REASONING_EFFORTS)}",
        )
        for n in graph.nodes.values()
        if n.attrs.get("reasoning_effort", "high") not in REASONING_EFFORTS
    ]


def retry_policy_known(graph: Graph) -> list[Diagnostic]:
    # Imported here: the kernel attributes are an internal plugin, which imports pluggy.
    from attractor_core.kernel_attributes import RETRY_PRESETS as PRESETS

    fix = f"use one of: {', '.join(PRESETS)}"
    out = [
        _node_diag(
            "retry_policy_known",
            WARNING,
            n,
            f"node {n.id}: retry_policy {n.attrs['retry_policy']!r} is not a preset",
            fix,
        )
        for n in graph.nodes.values()
        if n.attrs.get("retry_policy", "") not in ("", *PRESETS)
    ]
    if graph.attrs.get("retry_policy", "") not in ("", *PRESETS):
        out.append(
            Diagnostic(
                "retry_policy_known",
                WARNING,
                f"graph retry_policy {graph.attrs['retry_policy']!r} is not a preset",
                fix=fix,
                line=_graph_line(graph, "retry_policy"),
            )
        )
    return out
