"""Property tests: ``ParseError`` is the only exception a caller can see, error
locations are real positions, and well-formed graphs round-trip."""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attractor_core.dot import ParseError, parse_dot, parse_file
from attractor_core.pipeline import prepare_source
from attractor_core.plugins import make_plugin_manager
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


# The mutation harness: many cheap inputs rather than a few large ones, so that it covers
# 10,000 per run in a few seconds. Each input is timed on its own, in CPU time so that other
# load on the machine does not count: one that takes over a second is a super-linear path in
# the front end, whatever the machine.
FUZZ_INPUTS = 10_000
SLOW_INPUT_S = 1.0
WINDOW = 1_500  # characters of a seed file each input starts from
SEEDS = [*CORPUS_TEXTS, *(f'digraph G {{ a [label="{"x" * n}"]; a -> b }}' for n in (0, 5))]
# Inserted many times over, these make the shapes on which a lexer that rescans is quadratic
# (an unterminated string full of escaped quotes, runs of unclosed comments or strings).
REPEATED = ['\\"', '"', "/*", "\\", '"\\', "{", "[", "->", "a=", "subgraph {", "//\n"]


def _long_tail(rng: random.Random) -> int:
    """10 to 20,000, log-uniform: mostly short runs, and a few long enough that a quadratic
    path would take seconds."""
    return int(10 ** rng.uniform(1, 4.3))


def _mutate(rng: random.Random, text: str) -> str:
    start = rng.randrange(len(text) + 1)
    text = text[start:start + WINDOW]
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        end = min(len(text), at + rng.randint(0, 40))
        op = rng.randrange(5)
        if op == 0:
            text = text[:at] + text[end:]
        elif op == 1:
            text = text[:at] + rng.choice(FRAGMENTS) + text[at:]
        elif op == 2:
            text = text[:end] + text[at:end] + text[end:]
        elif op == 3:
            text = text[:at]
        else:
            text = text[:at] + rng.choice(REPEATED) * _long_tail(rng) + text[at:]
    return text


def test_ten_thousand_mutated_inputs_fail_only_with_parse_errors_and_none_is_slow() -> None:
    seed = int(os.environ.get("ATTRACTOR_FUZZ_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    pm = make_plugin_manager(entry_points=False)
    foreign: list[str] = []
    slow: list[tuple[float, str]] = []
    for _ in range(FUZZ_INPUTS):
        source = _mutate(rng, rng.choice(SEEDS))
        began = time.process_time()
        try:
            prepare_source(source, "fuzz.dot", pm)
        except ParseError as error:
            _assert_real_location(error, source)
        except Exception as exc:  # anything else escaping the front end is the finding
            foreign.append(f"{type(exc).__name__}: {exc} on {source[:200]!r}")
        elapsed = time.process_time() - began
        if elapsed > SLOW_INPUT_S:
            slow.append((elapsed, source))
    replay = f"(replay with ATTRACTOR_FUZZ_SEED={seed})"
    assert not foreign, f"{len(foreign)} foreign exceptions {replay}: {foreign[:5]}"
    assert not slow, (f"{len(slow)} inputs over {SLOW_INPUT_S}s {replay}: "
                      + "; ".join(f"{t:.1f}s for {len(s)} chars {s[:120]!r}" for t, s in slow[:5]))


# Shapes on which a lexer that rescans the rest of the file at each quote or comment opener
# is quadratic (80 KB would take close to a minute), at 80 KB and at 1 MB. Each must be rejected with a ParseError well within the one-second budget.
SHAPES = {
    "unterminated string of escaped quotes": ('digraph G { a [label="', '\\"'),
    "unclosed block comments": ("digraph G { a ", "/* "),
    "escaped quotes outside a string": ("digraph G { a ", '\\"'),
    "strings opened after an error": ("digraph G { a ; ", '# "'),
}


@pytest.mark.parametrize("size", [80_000, 1_000_000])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_pathological_shapes_are_rejected_in_linear_time(shape: str, size: int) -> None:
    head, unit = SHAPES[shape]
    source = head + unit * ((size - len(head)) // len(unit))
    began = time.process_time()
    with pytest.raises(ParseError) as info:
        parse_dot(source, "fuzz.dot")
    elapsed = time.process_time() - began
    _assert_real_location(info.value, source)
    assert elapsed < SLOW_INPUT_S, f"{shape} at {size} bytes took {elapsed:.1f}s"
