"""The real pipelines in the kilroy corpus: all parse, with correct line numbers,
except the two files its README names as not pipelines: the spec's smoke test (a DOT
source wrapped in pseudocode) and the one HTML-label ``.gv`` file."""

from __future__ import annotations

import pytest

from attractor_core.dot import ParseError, parse_file
from tests.corpus import CORPUS

WRAPPED = "specs_simple_example_integration_smoke_test.dot"
HTML_LABELS = "demo_substack-spec-v01-ui.gv"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="kilroy corpus not present")


def _dot_files() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.dot")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("name", [n for n in _dot_files() if n != WRAPPED])
def test_corpus_pipeline_parses_with_lines_pointing_at_declarations(name: str) -> None:
    path = CORPUS / name
    graph = parse_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert graph.nodes and graph.edges
    for node in graph.nodes.values():
        assert node.id in lines[node.line - 1], (node.id, node.line)
    for edge in graph.edges:
        assert edge.source in lines[edge.line - 1], (edge.source, edge.line)
    for key, line in graph.attr_lines.items():
        assert key in lines[line - 1], (key, line)


def test_dot_wrapped_in_pseudocode_is_rejected_at_line_one() -> None:
    with pytest.raises(ParseError) as info:
        parse_file(CORPUS / WRAPPED)
    assert info.value.file.endswith(WRAPPED)
    assert (info.value.line, info.value.column) == (1, 1)


def test_corpus_gv_with_html_labels_is_rejected_at_its_line() -> None:
    path = CORPUS / HTML_LABELS
    with pytest.raises(ParseError) as info:
        parse_file(path)
    error = info.value
    assert "HTML labels" in error.message
    offending = path.read_text(encoding="utf-8").splitlines()[error.line - 1]
    assert offending[error.column - 1] == "<"
    assert "label" in offending


def test_corpus_holds_the_files_this_suite_expects() -> None:
    names = set(_dot_files())
    assert WRAPPED in names and len(names) >= 20
    assert (CORPUS / HTML_LABELS).is_file()
