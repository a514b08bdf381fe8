"""The ``parallel_join`` lint rule through ``attractor validate``."""

from __future__ import annotations

from pathlib import Path

from tests.engine.support import attractor, pipeline


def test_parallel_node_without_join_is_a_validation_error(tmp_path: Path) -> None:
    body = """
  par [shape=component]
  a [shape=parallelogram, tool_command="true"]
  b [shape=parallelogram, tool_command="true"]
  start -> par
  par -> a
  par -> b
  a -> exit
"""
    dot = pipeline(tmp_path, body)
    result = attractor("validate", dot)
    assert result.returncode == 1
    assert "error parallel_join: parallel node par has no join: its branches (a, b)" \
        in result.stdout
    assert "fix: add a fan-in node (shape=tripleoctagon)" in result.stdout
    run = attractor("run", dot, "--logs-root", tmp_path / "logs")
    assert run.returncode == 2  # refused before the run starts
    assert "parallel_join" in run.stderr + run.stdout


def test_parallel_node_without_branches_is_a_validation_error(tmp_path: Path) -> None:
    body = """
  par [shape=component]
  start -> par
  par -> exit [condition="outcome=success"]
"""
    result = attractor("validate", pipeline(tmp_path, body))
    assert result.returncode == 1
    assert "parallel node par has no branches" in result.stdout


def test_parallel_with_fan_in_validates_clean(tmp_path: Path) -> None:
    body = """
  par [shape=component]
  a [shape=parallelogram, tool_command="true"]
  b [shape=parallelogram, tool_command="true"]
  join [shape=tripleoctagon]
  start -> par
  par -> a -> join
  par -> b -> join
  join -> exit
"""
    result = attractor("validate", pipeline(tmp_path, body))
    assert result.returncode == 0, result.stdout
    assert "parallel_join" not in result.stdout
