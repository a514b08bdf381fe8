"""Arbitrary input never makes the front end raise anything but its documented errors."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from attractor_core.conditions import ConditionSyntaxError, evaluate_condition, parse_condition
from attractor_core.model import Context, Edge, Graph, Node, Outcome
from attractor_core.stylesheet import StylesheetSyntaxError, parse_stylesheet
from attractor_core.validation import validate

CONDITION_ALPHABET = st.sampled_from(list('outcome=!&|"context._ preferred_label-:<>\\ab1'))
SHEET_ALPHABET = st.sampled_from(list('*#.{}:;"/ llm_model reasoning_effort box-abc\n'))


@settings(max_examples=300, deadline=None)
@given(st.text(CONDITION_ALPHABET, max_size=40))
def test_conditions_parse_or_raise_condition_syntax_error(text: str) -> None:
    try:
        cond = parse_condition(text)
    except ConditionSyntaxError:
        return
    assert evaluate_condition(cond, Outcome.success(), Context({"a": "b"})) in (True, False)


@settings(max_examples=300, deadline=None)
@given(st.text(SHEET_ALPHABET, max_size=60))
def test_stylesheets_parse_or_raise_stylesheet_syntax_error(text: str) -> None:
    try:
        parse_stylesheet(text)
    except StylesheetSyntaxError as exc:
        assert exc.line >= 1


ids = st.sampled_from(["start", "exit", "a", "b", "c", "Start", "end"])
attrs = st.dictionaries(
    st.sampled_from(["shape", "type", "goal_gate", "timeout", "retry_target", "prompt", "class"]),
    st.sampled_from(["Mdiamond", "Msquare", "box", "true", "x", "15m", "a", "", "tool"]),
    max_size=4,
)
edge_attrs = st.dictionaries(
    st.sampled_from(["condition", "weight", "fidelity", "loop_restart"]),
    st.sampled_from(["outcome=success", "a==b", "3", "full", "maybe", ""]),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(ids, attrs, max_size=6),
    st.lists(st.tuples(ids, ids, edge_attrs), max_size=10),
    st.dictionaries(
        st.sampled_from(["model_stylesheet", "default_fidelity", "max_restarts"]),
        st.sampled_from(["* { llm_model: m; }", "{", "full", "-1", "x"]),
        max_size=2,
    ),
)
def test_validate_returns_diagnostics_for_any_graph(
    nodes: dict[str, dict[str, str]],
    edges: list[tuple[str, str, dict[str, str]]],
    graph_attrs: dict[str, str],
) -> None:
    graph = Graph(
        "g",
        attrs=graph_attrs,
        nodes={k: Node(k, v, line=1) for k, v in nodes.items()},
        edges=tuple(Edge(s, t, a, line=2, index=i) for i, (s, t, a) in enumerate(edges)),
        source_file="g.dot",
    )
    for diagnostic in validate(graph):
        assert diagnostic.rule and diagnostic.fix and diagnostic.file == "g.dot"
