"""Every real pipeline of the kilroy corpus goes through ``attractor validate`` without a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attractor_core.dot import ParseError
from attractor_core.pipeline import prepare_pipeline
from attractor_core.plugins import make_plugin_manager
from tests.corpus import CORPUS

FILES = (
    sorted(p for p in CORPUS.glob("*") if p.suffix in (".dot", ".gv")) if CORPUS.is_dir() else []
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="kilroy corpus not present")


def validate_cli(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attractor_core", "validate", "--json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_problem_is_a_named_diagnostic_or_a_parse_error(path: Path) -> None:
    pm = make_plugin_manager(entry_points=False)
    try:
        prepared = prepare_pipeline(path, pm)
    except ParseError as exc:
        assert exc.line >= 1 and str(exc).startswith(str(path))
        return
    for diagnostic in prepared.diagnostics:
        assert diagnostic.rule and diagnostic.message and diagnostic.fix
        assert diagnostic.file == str(path)


@needs_corpus
def test_whole_corpus_through_the_cli_never_crashes() -> None:
    result = validate_cli(*FILES)
    assert result.returncode == 2  # the corpus holds unparsable files
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert all(d["rule"] for d in data)


@needs_corpus
def test_html_label_file_is_rejected_with_a_line_number() -> None:
    path = CORPUS / "demo_substack-spec-v01-ui.gv"
    result = validate_cli(path)
    assert result.returncode == 2
    (entry,) = json.loads(result.stdout)
    assert entry["rule"] == "parse" and entry["line"] > 1
    assert "HTML" in entry["message"]


@needs_corpus
def test_dot_wrapped_in_pseudocode_is_rejected_where_it_stops_being_dot() -> None:
    path = CORPUS / "specs_simple_example_integration_smoke_test.dot"
    result = subprocess.run(
        [sys.executable, "-m", "attractor_core", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}:1:1:"), result.stderr
    assert "Traceback" not in result.stderr


@needs_corpus
@pytest.mark.parametrize(
    "name", ["specs_consensus_task.dot", "specs_semport.dot", "specs_simple_example.dot"]
)
def test_the_spec_example_pipelines_parse(name: str) -> None:
    result = validate_cli(CORPUS / name)
    assert result.returncode in (0, 1), result.stderr
    assert all(d["rule"] != "parse" for d in json.loads(result.stdout))


@needs_corpus
def test_the_clean_batch_file_has_no_diagnostics_at_all() -> None:
    result = validate_cli(CORPUS / "cmd_kilroy_testdata_batch_clean.dot")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
