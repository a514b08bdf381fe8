"""Concurrency lint rules through ``attractor validate``: ``parallel_join``,
``parallel_policy``, ``manager_loop_config`` and ``subgraph_dotfile`` (all from the handlers)."""

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


FAN = """
  par [shape=component, %s]
  a [shape=parallelogram, tool_command="true"]
  b [shape=parallelogram, tool_command="true"]
  join [shape=tripleoctagon]
  start -> par
  par -> a -> join
  par -> b -> join
  join -> exit
"""


def test_parallel_with_fan_in_validates_clean(tmp_path: Path) -> None:
    result = attractor("validate", pipeline(tmp_path, FAN % "join_policy=k_of_n, k=2"))
    assert result.returncode == 0, result.stdout
    assert "valid (0 errors, 0 warnings)" in result.stdout


PARALLEL_CASES = [
    ("join_policy=most", "node par: unknown join_policy 'most'; use one of wait_all, "
                         "first_success, k_of_n, quorum"),
    ("error_policy=panic", "node par: unknown error_policy 'panic'"),
    ("join_policy=k_of_n, k=3", "node par: k=3 but only 2 branches"),
    ("quorum_fraction=1.5", "node par: quorum_fraction=1.5 must be in (0, 1]"),
]

MANAGER_CASES = [
    ('manager.actions="observe,nap"', "unknown manager.actions nap"),
    ('manager.actions="steer"', "manager.actions includes steer but manager.steer_prompt is empty"),
    ('manager.stop_condition="a == b"', "invalid condition"),
    ("manager.max_cycles=0", "manager.max_cycles=0 must be at least 1"),
    ("", "no stack.child_dotfile"),
]


def _validate_each(tmp_path: Path, bodies: list[str]) -> list[list[str]]:
    """Validate one file per body in a single CLI call; each file's diagnostic lines."""
    paths = [pipeline(tmp_path, body, f"case{i}.dot") for i, body in enumerate(bodies)]
    result = attractor("validate", *paths)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    return [[line for line in lines if line.startswith(f"{path}:")] for path in paths]


def test_bad_parallel_policy_is_a_validation_error(tmp_path: Path) -> None:
    found = _validate_each(tmp_path, [FAN % attrs for attrs, _ in PARALLEL_CASES])
    for (_, message), lines in zip(PARALLEL_CASES, found, strict=True):
        assert any(f"error parallel_policy: {message}" in line for line in lines), lines


def test_bad_manager_loop_is_a_validation_error(tmp_path: Path) -> None:
    bodies = []
    for attrs, message in MANAGER_CASES:
        child = "" if "child_dotfile" in message else 'stack.child_dotfile="c.dot", '
        bodies.append(f"  mgr [shape=house, {child}{attrs}]\n  start -> mgr -> exit")
    for (_, message), lines in zip(MANAGER_CASES, _validate_each(tmp_path, bodies),
                                   strict=True):
        assert any("error manager_loop_config" in line and message in line
                   for line in lines), lines


def test_subgraph_without_dotfile_is_a_validation_error(tmp_path: Path) -> None:
    body = '  sub [type="subgraph"]\n  start -> sub -> exit'
    result = attractor("validate", pipeline(tmp_path, body))
    assert result.returncode == 1
    assert "error subgraph_dotfile: sub-pipeline node sub has no subgraph.dotfile" in result.stdout
    assert 'fix: add subgraph.dotfile="child.dot" to sub' in result.stdout


def test_a_bad_max_parallel_or_manager_count_is_reported_once_by_its_handlers_rule(
        tmp_path: Path) -> None:
    bodies = [FAN % 'max_parallel="-1"',
              '  mgr [shape=house, stack.child_dotfile="c.dot", manager.max_cycles="-2"]\n'
              "  start -> mgr -> exit"]
    for key, lines in zip(("max_parallel", "manager.max_cycles"),
                          _validate_each(tmp_path, bodies), strict=True):
        about = [line for line in lines if " error " in line and f": {key}" in line]
        assert len(about) == 1, lines
        assert "error parallel_policy" in about[0] or "error manager_loop_config" in about[0]
