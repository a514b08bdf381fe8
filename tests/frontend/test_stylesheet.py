"""Spec §8 / §11.10: the model stylesheet and its application transform."""

from __future__ import annotations

import pytest

from attractor_core.attributes import AttributeSpec
from attractor_core.dot import parse_dot
from attractor_core.model import Graph
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.stylesheet import StylesheetSyntaxError, parse_stylesheet
from attractor_core.transforms import apply_transforms
from attractor_core.validation import validate

from .helpers import diagnostics_for

SPEC_EXAMPLE = """digraph Pipeline {
    graph [
        goal="Implement feature X",
        model_stylesheet="
            * { llm_model: claude-sonnet-4-5; llm_provider: anthropic; }
            .code { llm_model: claude-opus-4-6; llm_provider: anthropic; }
            #critical_review { llm_model: gpt-5.2; llm_provider: openai; reasoning_effort: high; }
        "
    ]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan            [label="Plan", class="planning"]
    implement       [label="Implement", class="code"]
    critical_review [label="Critical Review", class="code"]
    start -> plan -> implement -> critical_review -> exit
}
"""


def styled(source: str) -> Graph:
    return apply_transforms(parse_dot(source, "s.dot"), make_plugin_manager(entry_points=False))


def with_sheet(sheet: str, nodes: str) -> str:
    return f'digraph G {{\n  model_stylesheet="{sheet}"\n{nodes}\n}}\n'


def test_spec_example_resolves_each_node() -> None:
    graph = styled(SPEC_EXAMPLE)
    assert graph.nodes["plan"].llm_model == "claude-sonnet-4-5"
    assert graph.nodes["implement"].llm_model == "claude-opus-4-6"
    assert graph.nodes["critical_review"].llm_model == "gpt-5.2"
    assert graph.nodes["critical_review"].llm_provider == "openai"


def test_shape_selector() -> None:
    graph = styled(with_sheet("box { llm_model: m-box; }", "a [shape=box]\n b [shape=hexagon]"))
    assert graph.nodes["a"].llm_model == "m-box"
    assert graph.nodes["b"].llm_model == ""


def test_class_selector_matches_any_listed_class() -> None:
    graph = styled(
        with_sheet(".fast { llm_model: flash; }", 'a [class="slow,fast"]\n b [class="slow"]')
    )
    assert graph.nodes["a"].llm_model == "flash"
    assert graph.nodes["b"].llm_model == ""


def test_id_selector() -> None:
    graph = styled(with_sheet("#review { reasoning_effort: low; }", "review\n other"))
    assert graph.nodes["review"].attrs["reasoning_effort"] == "low"
    assert "reasoning_effort" not in graph.nodes["other"].attrs


def test_specificity_beats_source_order() -> None:
    sheet = (
        "#n { llm_model: id; } .c { llm_model: cls; } "
        "box { llm_model: shape; } * { llm_model: any; }"
    )
    graph = styled(with_sheet(sheet, 'n [class="c"]\n k [class="c"]\n s\n h [shape=hexagon]'))
    assert [graph.nodes[n].llm_model for n in ("n", "k", "s", "h")] == ["id", "cls", "shape", "any"]


def test_later_rule_of_equal_specificity_wins() -> None:
    graph = styled(
        with_sheet(".c { llm_model: first; } .c { llm_model: second; }", 'a [class="c"]')
    )
    assert graph.nodes["a"].llm_model == "second"


def test_explicit_node_attribute_always_wins() -> None:
    graph = styled(with_sheet("#a { llm_model: sheet; }", 'a [llm_model="mine"]'))
    assert graph.nodes["a"].llm_model == "mine"


def test_subgraph_label_class_is_selectable() -> None:
    source = with_sheet(
        ".loop-a { llm_model: loopy; }", 'subgraph cluster_x { label="Loop A"\n inner }\n outer'
    )
    graph = styled(source)
    assert graph.nodes["inner"].llm_model == "loopy"
    assert graph.nodes["outer"].llm_model == ""


def test_quoted_values_and_comments() -> None:
    sheet = parse_stylesheet('/* defaults */ * { llm_model: \\"a b\\"; }'.replace('\\"', '"'))
    assert sheet.rules[0].declarations == {"llm_model": "a b"}


def test_blank_stylesheet_has_no_rules() -> None:
    assert parse_stylesheet("  \n ").rules == ()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("* { colour: red; }", 1),
        ("* { llm_model gpt; }", 1),
        ("* { llm_model: a b; }", 1),
        ("*\n{ llm_model: a; }\n.Bad { llm_model: b; }", 3),
        ("llm_model: a;", 1),
        ("* { llm_model: a;", 1),
        ("* { llm_model: a; } $", 1),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(StylesheetSyntaxError) as info:
        parse_stylesheet(text)
    assert info.value.line == line
    assert isinstance(info.value, ValueError)


def test_invalid_stylesheet_is_a_stylesheet_syntax_error_at_its_file_line() -> None:
    source = (
        "digraph G {\n"
        "  graph [goal=x,\n"
        '    model_stylesheet="* { llm_model: a; }\n'
        '      .x { colour: red; }"]\n'
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n  start -> exit\n}\n"
    )
    found = [d for d in diagnostics_for(source) if d.rule == "stylesheet_syntax"]
    assert len(found) == 1
    assert found[0].severity.value == "error"
    assert found[0].line == 4
    assert "colour" in found[0].message


def test_invalid_stylesheet_leaves_nodes_unstyled() -> None:
    graph = styled(with_sheet("* { colour: red; }", "a"))
    assert graph.nodes["a"].attrs == {}


def test_graph_level_llm_attributes_are_the_default_below_the_stylesheet_and_the_node() -> None:
    source = (
        'digraph G {\n  llm_model=graph-m\n  llm_provider=openai\n  reasoning_effort=low\n'
        '  model_stylesheet=".fast { llm_model: sheet-m; }"\n'
        '  own [llm_model=own-m, reasoning_effort=high]\n  styled [class="fast"]\n  plain\n}\n'
    )
    graph = styled(source)
    assert [graph.nodes[n].llm_model for n in ("own", "styled", "plain")] == [
        "own-m", "sheet-m", "graph-m"]
    assert {graph.nodes[n].llm_provider for n in ("own", "styled", "plain")} == {"openai"}
    assert [graph.nodes[n].reasoning_effort for n in ("own", "styled", "plain")] == [
        "high", "low", "low"]


def test_graph_level_default_applies_without_a_stylesheet_and_through_set() -> None:
    from attractor_core.pipeline import prepare_source

    pm = make_plugin_manager(entry_points=False)
    prepared = prepare_source("digraph G { a [prompt=x] }", "g.dot", pm,
                              {"llm_model": "from-set"})
    assert prepared.graph.nodes["a"].llm_model == "from-set"


class _StyledPlugin:
    """A plugin declaring a node attribute the stylesheet may set."""

    @hookimpl
    def attractor_attribute_schema(self) -> dict[str, list[AttributeSpec]]:
        return {"codergen": [AttributeSpec("x.depth", "integer", "", "Depth.", stylesheet=True)]}


def test_a_plugin_declared_stylesheet_property_is_applied_and_linted_like_the_spec_ones() -> None:
    pm = make_plugin_manager(entry_points=False, extra_plugins=[_StyledPlugin()])
    source = with_sheet("* { x.depth: 3; } #c { x.depth: 5; llm_model: m; }",
                        "  a [shape=box]\n  b [shape=box, x.depth=7]\n  c [shape=box]")
    graph = apply_transforms(parse_dot(source, "s.dot"), pm)
    assert graph.nodes["a"].attrs == {"shape": "box", "x.depth": "3"}
    assert graph.nodes["b"].attrs == {"shape": "box", "x.depth": "7"}  # the node's own wins
    assert graph.nodes["c"].attrs == {"shape": "box", "x.depth": "5", "llm_model": "m"}
    assert not [d for d in validate(graph, pm) if d.rule == "stylesheet_syntax"]
    # Without the plugin the same sheet is an unknown property, and no node is styled.
    kernel = make_plugin_manager(entry_points=False)
    unstyled = apply_transforms(parse_dot(source, "s.dot"), kernel)
    assert unstyled.nodes["a"].attrs == {"shape": "box"}
    found = [d for d in validate(unstyled, kernel) if d.rule == "stylesheet_syntax"]
    assert len(found) == 1 and "unknown property 'x.depth'" in found[0].message
