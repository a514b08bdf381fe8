"""Spec §2: every accepted DOT feature, through ``parse_dot`` / ``parse_file``."""

from __future__ import annotations

from pathlib import Path

from attractor_core.dot import derive_class, parse_dot, parse_file


def test_graph_block_and_top_level_declarations_set_graph_attributes() -> None:
    graph = parse_dot(
        'digraph Pipe {\n'
        '  graph [goal="Ship it", label="Demo"]\n'
        '  rankdir=LR\n'
        '  default_max_retries = 2;\n'
        '}\n'
    )
    assert graph.name == "Pipe"
    assert dict(graph.attrs) == {"goal": "Ship it", "label": "Demo", "rankdir": "LR",
                                 "default_max_retries": "2"}
    assert dict(graph.attr_lines) == {"goal": 2, "label": 2, "rankdir": 3,
                                      "default_max_retries": 4}
    assert graph.default_max_retries == 2


def test_multi_line_graph_block_records_each_key_line() -> None:
    graph = parse_dot('digraph G {\n graph [\n  goal="g",\n\n  label="l"\n ]\n}')
    assert dict(graph.attr_lines) == {"goal": 3, "label": 5}


def test_node_defaults_apply_only_to_nodes_declared_after_the_block() -> None:
    graph = parse_dot('digraph G {\n before\n node [shape=box, timeout="900s"]\n'
                      ' after\n explicit [timeout="5m"]\n}')
    assert dict(graph.nodes["before"].attrs) == {}
    assert dict(graph.nodes["after"].attrs) == {"shape": "box", "timeout": "900s"}
    assert dict(graph.nodes["explicit"].attrs) == {"shape": "box", "timeout": "5m"}


def test_edge_defaults_apply_to_later_edges_and_are_overridden_by_own_attributes() -> None:
    graph = parse_dot('digraph G { a b c\n a -> b\n edge [weight=5, label="x"]\n'
                      ' b -> c [label="y"] }')
    first, second = graph.edges
    assert dict(first.attrs) == {}
    assert dict(second.attrs) == {"weight": "5", "label": "y"}


def test_subgraph_defaults_do_not_leak_out_of_the_subgraph() -> None:
    graph = parse_dot(
        'digraph G {\n'
        '  node [shape=box]\n'
        '  subgraph cluster_loop {\n'
        '    node [thread_id="loop-a", shape=hexagon]\n'
        '    edge [weight=3]\n'
        '    inner\n'
        '    inner -> outer\n'
        '  }\n'
        '  outer\n'
        '  outer -> inner\n'
        '}\n'
    )
    assert dict(graph.nodes["inner"].attrs) == {"shape": "hexagon", "thread_id": "loop-a"}
    assert dict(graph.nodes["outer"].attrs) == {"shape": "box"}
    assert [dict(e.attrs) for e in graph.edges] == [{"weight": "3"}, {}]


def test_subgraph_inherits_the_enclosing_defaults_in_force_when_it_opens() -> None:
    graph = parse_dot('digraph G { node [timeout="1m", shape=box]\n'
                      ' subgraph s { node [shape=diamond] n } }')
    assert dict(graph.nodes["n"].attrs) == {"timeout": "1m", "shape": "diamond"}


def test_spec_example_loop_subgraph_inherits_and_overrides() -> None:
    graph = parse_dot(
        'digraph G {\n subgraph cluster_loop {\n  label = "Loop A"\n'
        '  node [thread_id="loop-a", timeout="900s"]\n'
        '  Plan [label="Plan next step"]\n'
        '  Implement [label="Implement", timeout="1800s"]\n }\n}'
    )
    plan, implement = graph.nodes["Plan"], graph.nodes["Implement"]
    assert plan.thread_id == "loop-a" and plan.get("timeout") == "900s"
    assert implement.thread_id == "loop-a" and implement.get("timeout") == "1800s"
    assert plan.classes == ("loop-a",) and implement.classes == ("loop-a",)


def test_subgraph_label_given_after_its_nodes_still_derives_the_class() -> None:
    graph = parse_dot('digraph G { subgraph s { a; b; graph [label="Review Team"] } c }')
    assert graph.nodes["a"].classes == ("review-team",)
    assert graph.nodes["b"].classes == ("review-team",)
    assert graph.nodes["c"].classes == ()


def test_nested_subgraphs_give_members_every_enclosing_class() -> None:
    graph = parse_dot('digraph G { subgraph outer { label="Outer Loop"\n'
                      ' subgraph inner { label="Inner!" deep } shallow } }')
    assert graph.nodes["deep"].classes == ("inner", "outer-loop")
    assert graph.nodes["shallow"].classes == ("outer-loop",)


def test_derived_classes_merge_after_explicit_class_without_duplicates() -> None:
    graph = parse_dot('digraph G { subgraph s { label="Fast"\n'
                      ' n [class="code, fast"] m [class="critical"] } }')
    assert graph.nodes["n"].get("class") == "code,fast"
    assert graph.nodes["m"].classes == ("critical", "fast")


def test_node_redeclared_inside_a_labelled_subgraph_gets_its_class() -> None:
    graph = parse_dot('digraph G { n [shape=box] subgraph s { label="Team" n } }')
    assert graph.nodes["n"].classes == ("team",)


def test_derive_class_lowercases_hyphenates_and_strips_symbols() -> None:
    assert derive_class("Loop A") == "loop-a"
    assert derive_class("  Fix & Test (v2) ") == "fix--test-v2"


def test_chained_edges_expand_and_share_attributes() -> None:
    graph = parse_dot('digraph G { A B C\n A -> B -> C [label="next", weight=2] }')
    assert [(e.source, e.target) for e in graph.edges] == [("A", "B"), ("B", "C")]
    assert all(dict(e.attrs) == {"label": "next", "weight": "2"} for e in graph.edges)
    assert [e.index for e in graph.edges] == [0, 1]


def test_chained_edge_lines_follow_each_source_node() -> None:
    graph = parse_dot('digraph G {\n a b c\n a ->\n b\n -> c\n}')
    assert [(e.source, e.line) for e in graph.edges] == [("a", 3), ("b", 4)]


def test_line_and_block_comments_are_ignored_and_keep_line_numbers() -> None:
    graph = parse_dot('// header\ndigraph G { /* a\nmulti-line\ncomment */ a // tail\n'
                      ' b [label="// not a comment /* nor this */"]\n}')
    assert graph.nodes["a"].line == 4
    assert graph.nodes["b"].line == 5
    assert graph.nodes["b"].label == "// not a comment /* nor this */"


def test_string_escapes_and_unknown_escapes_kept_verbatim() -> None:
    graph = parse_dot(r'digraph G { n [prompt="say \"hi\"\nline\tTab \\ end \l \d"] }')
    assert graph.nodes["n"].prompt == 'say "hi"\nline\tTab \\ end \\l \\d'


def test_raw_newlines_inside_strings_are_kept_and_counted() -> None:
    graph = parse_dot('digraph G {\n a [prompt="one\ntwo\nthree"]\n b\n}')
    assert graph.nodes["a"].prompt == "one\ntwo\nthree"
    assert graph.nodes["b"].line == 5


def test_backslash_newline_continues_a_string() -> None:
    graph = parse_dot('digraph G { a [prompt="long \\\nline"] b [prompt="x\\\r\ny"] }')
    assert graph.nodes["a"].prompt == "long line"
    assert graph.nodes["b"].prompt == "xy"


def test_string_concatenation_with_plus() -> None:
    graph = parse_dot('digraph G { a [prompt="one " + "two"] }')
    assert graph.nodes["a"].prompt == "one two"


def test_qualified_keys_are_kept_whole() -> None:
    graph = parse_dot('digraph G { tool_hooks.pre="lint"\n'
                      ' h [shape=hexagon, human.default_choice="approve"] }')
    assert graph.attrs["tool_hooks.pre"] == "lint"
    assert graph.nodes["h"].get("human.default_choice") == "approve"


def test_multi_line_attribute_block_with_trailing_comma() -> None:
    graph = parse_dot('digraph G {\n n [\n  shape=box,\n  max_retries=3,\n ]\n}')
    assert dict(graph.nodes["n"].attrs) == {"shape": "box", "max_retries": "3"}
    assert graph.nodes["n"].line == 2


def test_every_value_type_is_kept_verbatim_and_typed_by_the_model() -> None:
    graph = parse_dot(
        'digraph G { n [s="text", i=42, neg=-1, f=0.5, nf=-3.14, b=true, d1=900s, d2=15m,'
        ' d3=250ms, d4=1d, model=gpt-5.3-codex-spark, pair=a:b, timeout=2h] }'
    )
    node = graph.nodes["n"]
    assert dict(node.attrs) == {
        "s": "text", "i": "42", "neg": "-1", "f": "0.5", "nf": "-3.14", "b": "true",
        "d1": "900s", "d2": "15m", "d3": "250ms", "d4": "1d",
        "model": "gpt-5.3-codex-spark", "pair": "a:b", "timeout": "2h",
    }
    assert node.get_int("neg") == -1 and node.get_float("nf") == -3.14
    assert node.get_bool("b") is True
    assert node.timeout is not None


def test_a_node_exists_only_where_a_node_statement_declares_it() -> None:
    graph = parse_dot('digraph G { start [shape=Mdiamond]\n start -> missing\n}')
    assert list(graph.nodes) == ["start"]
    assert [(e.source, e.target, e.line) for e in graph.edges] == [("start", "missing", 2)]


def test_redeclaring_a_node_merges_attributes_and_keeps_first_line() -> None:
    graph = parse_dot('digraph G {\n n [shape=box, label="A"]\n n [label="B", goal_gate=true]\n}')
    node = graph.nodes["n"]
    assert dict(node.attrs) == {"shape": "box", "label": "B", "goal_gate": "true"}
    assert node.line == 2


def test_nodes_keep_declaration_order_and_lines() -> None:
    graph = parse_dot('digraph G {\n\n z\n a; m\n}')
    assert [(n.id, n.line) for n in graph.nodes.values()] == [("z", 3), ("a", 4), ("m", 4)]


def test_semicolons_are_optional_and_anonymous_name_allowed() -> None:
    graph = parse_dot('digraph { a; b;; a -> b; }')
    assert graph.name == "" and list(graph.nodes) == ["a", "b"]


def test_ids_need_no_spaces_around_arrows() -> None:
    graph = parse_dot("digraph G { a b a->b }")
    assert [(e.source, e.target) for e in graph.edges] == [("a", "b")]


def test_utf8_text_and_byte_order_mark_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.dot"
    path.write_bytes('\ufeffdigraph G { n [label="Café ✓"] }'.encode())
    graph = parse_file(path)
    assert graph.nodes["n"].label == "Café ✓"
    assert graph.source_file == str(path)


def test_deeply_nested_subgraphs_within_the_limit_parse() -> None:
    depth = 60
    source = "digraph G { " + "subgraph { " * depth + "n" + " }" * depth + " }"
    assert list(parse_dot(source).nodes) == ["n"]


def test_twenty_thousand_stage_pipeline_parses_without_recursion() -> None:
    count = 20_000
    nodes = "\n".join(f'  s{i} [prompt="step {i}\\n"]' for i in range(count))
    chain = " -> ".join(f"s{i}" for i in range(count))
    graph = parse_dot(f"digraph Big {{\n{nodes}\n  {chain}\n}}\n")
    assert len(graph.nodes) == count and len(graph.edges) == count - 1
    assert graph.nodes[f"s{count - 1}"].line == count + 1
    assert graph.nodes["s7"].prompt == "step 7\n"
    assert {e.line for e in graph.edges} == {count + 2}
