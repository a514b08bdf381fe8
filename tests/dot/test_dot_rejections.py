"""Spec §2.3: input outside the supported subset fails with one ``ParseError``
that names file, line and column and says what to do."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from attractor_core.dot import ParseError, parse_dot, parse_file

# (id, source, line, column, words the message must contain, words the hint must contain)
REJECTIONS = [
    ("undirected_graph", "graph G {\n a -- b\n}", 1, 1, "undirected graphs", "digraph"),
    ("undirected_edge", "digraph G {\n a b\n a -- b\n}", 3, 4, "'--'", "'->'"),
    ("undirected_in_chain", "digraph G { a -> b -- c }", 1, 20, "'--'", "'->'"),
    ("strict", "strict digraph G { a }", 1, 1, "'strict'", "remove"),
    ("two_graphs", "digraph A { a }\ndigraph B { b }", 2, 1, "more than one graph", "exactly one"),
    ("nested_digraph", "digraph G {\n digraph H { } }", 2, 2, "inside another graph", "subgraph"),
    ("html_label", "digraph G {\n a [label=<<b>x</b>>]\n}", 2, 11, "HTML labels", "quoted string"),
    ("missing_comma", 'digraph G {\n a [shape=box label="x"]\n}', 2, 15, "expected ','", "commas"),
    ("port_source", "digraph G {\n a:out -> b\n}", 2, 2, "ports", "refer to the node as a"),
    ("port_target", "digraph G { a -> b:in }", 1, 18, "ports", "as b"),
    ("trailing_garbage", "digraph G { a }\nextra", 2, 1, "after the end of the graph", "remove"),
    ("trailing_semicolon", "digraph G { a };", 1, 16, "after the end", "closing '}'"),
    ("quoted_node_id", 'digraph G {\n "my node" [shape=box]\n}', 2, 2, "cannot be quoted",
     "label="),
    ("quoted_edge_target", 'digraph G { a -> "b" }', 1, 18, "invalid node id", "bare identifiers"),
    ("numeric_node_id", "digraph G { 42 }", 1, 13, "invalid node id '42'", "bare identifiers"),
    ("keyword_node_id", "digraph G { a -> node }", 1, 18, "invalid node id 'node'", "identifiers"),
    ("dotted_node_id", "digraph G { a.b }", 1, 13, "invalid node id 'a.b'", "identifiers"),
    ("unterminated_string", 'digraph G {\n a [label="oops]\n}', 2, 11, "unterminated string",
     'matching "'),
    ("unterminated_comment", "digraph G {\n /* never\n closed\n}", 2, 2,
     "unterminated block comment", "*/"),
    ("empty_text", "", 1, 1, "empty", "digraph"),
    ("only_comments", "// nothing\n", 2, 1, "empty", "digraph"),
    ("not_a_digraph", "flowchart TD", 1, 1, "expected 'digraph'", "starts with"),
    ("missing_open_brace", "digraph G a", 1, 11, "expected '{'", "open the graph body"),
    ("unclosed_body", "digraph G {\n a\n", 3, 1, "expected '}'", "opened on line 1"),
    ("unclosed_subgraph", "digraph G {\n subgraph s {\n a\n", 4, 1, "expected '}'",
     "opened on line 2"),
    ("unclosed_attr_block", "digraph G {\n a [shape=box", 2, 14, "unterminated attribute block",
     "opened on line 2"),
    ("missing_equals", "digraph G { a [shape] }", 1, 21, "expected '='", "shape=value"),
    ("missing_value", "digraph G { a [shape=] }", 1, 22, "expected a value", "quote"),
    ("quoted_key", 'digraph G { a ["k"=v] }', 1, 16, "invalid attribute name", "identifiers"),
    ("subgraph_as_target", "digraph G { a -> subgraph s { b } }", 1, 18, "edge endpoints",
     "a -> b"),
    ("subgraph_as_source", "digraph G { subgraph s { b } -> a }", 1, 30, "edge endpoints",
     "a -> b"),
    ("anonymous_block", "digraph G { { a } }", 1, 13, "anonymous", "subgraph name"),
    ("hash_comment", "digraph G {\n# note\n}", 2, 1, "'#'", "// or /* */"),
    ("unexpected_character", "digraph G { a [x=1] ! }", 1, 21, "unexpected character '!'",
     "quote"),
    ("keyword_without_block", "digraph G { node }", 1, 13, "'node' must be followed", "node ["),
    ("second_attr_block", "digraph G { a [x=1] [y=2] }", 1, 21, "second attribute block",
     "merge"),
    ("edge_missing_target", "digraph G { a -> }", 1, 18, "expected a node id", "a -> b"),
    ("statement_starts_with_arrow", "digraph G { -> b }", 1, 13, "expected a statement",
     "node id"),
    ("unquoted_slash_value", "digraph G { a [model=openai/gpt] }", 1, 28,
     "unexpected character '/'", "quote"),
]


@pytest.mark.parametrize(("source", "line", "column", "message", "hint"),
                         [case[1:] for case in REJECTIONS], ids=[case[0] for case in REJECTIONS])
def test_rejected_with_location_message_and_advice(source: str, line: int, column: int,
                                                   message: str, hint: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_dot(source, "pipe.dot")
    error = info.value
    assert (error.file, error.line, error.column) == ("pipe.dot", line, column)
    assert message in error.message
    assert hint in error.hint
    assert str(error).startswith(f"pipe.dot:{line}:{column}: ")


def test_subgraph_nesting_beyond_the_limit_is_an_error_not_a_crash() -> None:
    depth = 10_000
    source = "digraph G { " + "subgraph { " * depth + " }" * depth + " }"
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_dot(source)


def test_missing_file_names_the_path_without_a_fake_location(tmp_path: Path) -> None:
    path = tmp_path / "missing.dot"
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert info.value.line == 0
    assert str(info.value).startswith(f"{path}: cannot read file")
    assert "readable" in info.value.hint


def test_directory_instead_of_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read file"):
        parse_file(tmp_path)


def test_non_utf8_file_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.dot"
    path.write_bytes('digraph G {\n a [label="Café"]\n}'.encode("latin-1"))
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert (info.value.line, info.value.column) == (2, 15)
    assert "not valid UTF-8" in info.value.message and "UTF-8" in info.value.hint


def test_empty_file_on_disk_says_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.dot"
    path.write_text("")
    with pytest.raises(ParseError, match=r"empty\.dot:1:1: the file is empty"):
        parse_file(path)


def test_parse_error_survives_pickling() -> None:
    with pytest.raises(ParseError) as info:
        parse_dot("digraph G {", "x.dot")
    clone = pickle.loads(pickle.dumps(info.value))
    assert str(clone) == str(info.value) and clone.line == info.value.line
