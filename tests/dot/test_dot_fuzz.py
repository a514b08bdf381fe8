"""Property tests: ``ParseError`` is the only exception a caller can see, error
locations are real positions, and well-formed graphs round-trip."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attractor_core.dot import ParseError, parse_dot, parse_file
from tests.corpus import CORPUS

CORPUS_TEXTS = (
    [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.dot")) if p.stat().st_size]
    if CORPUS.is_dir() else []
)
BOUNDED = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "digraph", "graph", "strict", "node", "edge", "subgraph", "G", "a", "b", "c:p", "{", "}",
    "[", "]", "=", ",", ";", "->", "--", "-", "+", '"', '"x"', '"\\', "\\", "/*", "*/", "//",
    "\n", " ", "<", ">", "#", "1", "-1", "0.5", "900s", "a.b", "label", "\ufeff", "\x00", "é",
]
dot_soup = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)
dot_chars = st.text(alphabet=st.sampled_from(sorted(set("".join(FRAGMENTS)))), max_size=200)


def _parse_or_parse_error(source: str) -> None:
    try:
        parse_dot(source, "fuzz.dot")
    except ParseError as error:
        _assert_real_location(error, source)


def _assert_real_location(error: ParseError, source: str) -> None:
    lines = source.split("\n")
    assert error.file == "fuzz.dot"
    assert 1 <= error.line <= len(lines)
    assert 1 <= error.column <= len(lines[error.line - 1]) + 1
    assert error.message and error.hint


@BOUNDED
@given(st.one_of(st.text(max_size=200), dot_soup, dot_chars))
def test_random_text_raises_only_parse_error_at_a_real_position(source: str) -> None:
    _parse_or_parse_error(source)


@st.composite
def corpus_mutations(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate"]))
        if op == "delete":
            text = text[:start] + text[end:]
        elif op == "insert":
            text = text[:start] + draw(st.sampled_from(FRAGMENTS)) + text[start:]
        elif op == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            text = text[:start]
    return text


if CORPUS_TEXTS:  # the mutation half runs only where the corpus folder exists

    @BOUNDED
    @given(corpus_mutations())
    def test_mutated_corpus_files_raise_only_parse_error(source: str) -> None:
        _parse_or_parse_error(source)


@BOUNDED
@given(st.binary(max_size=200))
def test_random_bytes_on_disk_raise_only_parse_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.dot"
        path.write_bytes(data)
        try:
            parse_file(path)
        except ParseError as error:
            assert error.file == str(path) and error.line >= 1 and error.column >= 1


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _block(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items()) + "]"


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in {"digraph", "graph", "node", "edge", "subgraph", "strict"})
attr_maps = st.dictionaries(identifiers, st.text(max_size=20), max_size=4)


@BOUNDED
@given(st.dictionaries(identifiers, attr_maps, min_size=1, max_size=8), st.data())
def test_generated_graphs_round_trip(nodes: dict[str, dict[str, str]], data: st.DataObject) -> None:
    ids = list(nodes)
    edges = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids),
                                         attr_maps), max_size=10))
    lines = ["digraph G {"]
    lines += [f"  {node_id} {_block(attrs)}" for node_id, attrs in nodes.items()]
    lines += [f"  {src} -> {dst} {_block(attrs)}" for src, dst, attrs in edges]
    graph = parse_dot("\n".join(lines) + "\n}\n")
    assert {n.id: dict(n.attrs) for n in graph.nodes.values()} == nodes
    assert [n.line for n in graph.nodes.values()] == list(range(2, len(nodes) + 2))
    assert [(e.source, e.target, dict(e.attrs)) for e in graph.edges] == edges
    assert [e.line for e in graph.edges] == list(range(len(nodes) + 2, len(nodes) + 2 + len(edges)))
