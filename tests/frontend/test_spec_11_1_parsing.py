"""Spec §11.1: the DOT parsing checklist, through parse + prepare."""

from __future__ import annotations

from attractor_core.dot import parse_dot
from attractor_core.model import Graph
from attractor_core.pipeline import prepare_source
from attractor_core.plugins import make_plugin_manager

SOURCE = """// a pipeline
digraph Demo {
  /* graph attributes,
     two ways */
  graph [goal="Make tests pass", label="Demo run"]
  model_stylesheet = "* { llm_model: base; } .fast { llm_model: quick; }"
  node [shape=box, timeout="900s"]
  edge [weight=2]
  start [shape=Mdiamond]
  exit [shape=Msquare]
  plan [
    label="Plan",
    prompt="Plan: $goal",
    class="fast"
  ]
  subgraph cluster_loop {
    label = "Loop A"
    node [thread_id="loop-a"]
    build [label=Build, prompt="build", timeout="1800s"]
  }
  start -> plan -> build [label="next"]
  build -> exit [label="done", condition="outcome=success", weight=5]
  build -> plan [condition="outcome!=success"]
}
"""


def graph() -> Graph:
    return parse_dot(SOURCE, "demo.dot")


def test_graph_attributes_are_extracted() -> None:
    g = graph()
    assert (g.goal, g.label) == ("Make tests pass", "Demo run")
    assert ".fast" in g.model_stylesheet


def test_multi_line_node_attribute_blocks() -> None:
    plan = graph().nodes["plan"]
    assert (plan.label, plan.prompt, plan.classes) == ("Plan", "Plan: $goal", ("fast",))


def test_edge_attributes_label_condition_weight() -> None:
    edge = next(e for e in graph().edges if (e.source, e.target) == ("build", "exit"))
    assert (edge.label, edge.condition, edge.weight) == ("done", "outcome=success", 5)


def test_chained_edges_become_one_edge_per_pair_with_shared_attributes() -> None:
    chained = [(e.source, e.target, e.label) for e in graph().edges if e.label == "next"]
    assert chained == [("start", "plan", "next"), ("plan", "build", "next")]


def test_default_blocks_apply_to_later_declarations() -> None:
    g = graph()
    assert str(g.nodes["plan"].timeout) == "15m0s"
    assert g.nodes["build"].timeout is not None and g.nodes["build"].timeout.seconds == 1800
    assert all(e.weight == 2 for e in g.edges if e.label == "next")


def test_subgraphs_are_flattened_and_scope_their_defaults() -> None:
    g = graph()
    assert set(g.nodes) == {"start", "exit", "plan", "build"}
    assert g.nodes["build"].thread_id == "loop-a"
    assert g.nodes["plan"].thread_id == ""
    assert "loop-a" in g.nodes["build"].classes


def test_class_attribute_merges_stylesheet_attributes() -> None:
    prepared = prepare_source(SOURCE, "demo.dot", make_plugin_manager(entry_points=False))
    assert prepared.graph.nodes["plan"].llm_model == "quick"
    assert prepared.graph.nodes["build"].llm_model == "base"
    assert prepared.graph.nodes["plan"].prompt == "Plan: Make tests pass"


def test_quoted_and_unquoted_values_are_equal() -> None:
    g = parse_dot('digraph G { a [label=Build, x="Build"] }', "q.dot")
    assert g.nodes["a"].attrs["label"] == g.nodes["a"].attrs["x"] == "Build"


def test_comments_are_stripped() -> None:
    g = graph()
    assert all("//" not in v and "/*" not in v for n in g.nodes.values() for v in n.attrs.values())
    assert g.name == "Demo"


def test_the_whole_example_is_valid() -> None:
    prepared = prepare_source(SOURCE, "demo.dot", make_plugin_manager(entry_points=False))
    assert [d.rule for d in prepared.diagnostics] == []
