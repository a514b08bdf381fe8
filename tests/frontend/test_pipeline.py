"""``prepare_pipeline`` / ``load_pipeline``: the path from a file to a runnable graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from attractor_core.dot import ParseError
from attractor_core.pipeline import PreparedPipeline, load_pipeline, prepare_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.validation import ValidationError

from .helpers import VALID, pipeline


def test_prepare_pipeline_transforms_and_validates_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.dot"
    path.write_text(VALID, encoding="utf-8")
    prepared = prepare_pipeline(path, make_plugin_manager(entry_points=False))
    assert isinstance(prepared, PreparedPipeline) and prepared.ok
    assert prepared.graph.nodes["work"].prompt == "Do ship it"
    assert prepared.graph.source_file == str(path)


def test_load_pipeline_raises_validation_error_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.dot"
    path.write_text(
        pipeline('  work [prompt="p"]\n  start -> work -> exit\n  exit -> work'), "utf-8"
    )
    with pytest.raises(ValidationError) as info:
        load_pipeline(path, make_plugin_manager(entry_points=False))
    assert [d.rule for d in info.value.errors] == ["exit_no_outgoing"]
    assert f"{path}:7: error exit_no_outgoing" in str(info.value)


def test_load_pipeline_raises_parse_error_for_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ParseError):
        load_pipeline(tmp_path / "absent.dot", make_plugin_manager(entry_points=False))


def test_override_can_fix_or_break_a_graph_attribute(tmp_path: Path) -> None:
    path = tmp_path / "ok.dot"
    path.write_text(VALID, encoding="utf-8")
    pm = make_plugin_manager(entry_points=False)
    broken = prepare_pipeline(path, pm, {"stall_timeout": "soon"})
    assert [d.rule for d in broken.errors] == ["attribute_value"]
    assert prepare_pipeline(path, pm, {"stall_timeout": "90s"}).ok


def test_validate_without_files_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "attractor_core", "validate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
