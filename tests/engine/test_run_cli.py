"""``attractor run``/``resume``: exit codes, ``--set``, ``--workdir``, the
default logs root, policy precedence, and usage errors without tracebacks."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from .support import attractor, cli_command, final, pipeline, read_json, write


def test_exit_code_0_on_success_and_summary_names_the_logs_root(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    result = attractor("run", dot, "--logs-root", root, "--run-id", "r-0")
    assert result.returncode == 0, result.stderr
    assert "run r-0: success (success)" in result.stdout
    assert f"logs: {root}" in result.stdout
    # Not a terminal: plain lines per stage, no carriage-return redraws.
    assert "\r" not in result.stdout and "a success (attempt 1" in result.stdout


def test_exit_code_1_when_the_run_fails(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  a [shape=box, sim.outcome=fail, sim.failure_reason="nope"]\n'
                             "  start -> a -> exit")
    result = attractor("run", dot, "--logs-root", tmp_path / "logs", "--quiet")
    assert result.returncode == 1
    assert "fail (stage_failed) at a: nope" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("run",), "the following arguments are required: graph"),
    (("frobnicate",), "invalid choice"),
    (("run", "{dot}", "--set", "novalue"), "expected KEY=VALUE"),
    (("run", "{dot}", "--stall-timeout", "soon"), "invalid duration"),
    (("run", "{missing}"), "cannot read file"),
    (("run", "{broken}"), "broken.dot:2"),
    (("run", "{dot}", "--config", "{missing}"), "cannot read config"),
    (("run", "{dot}", "--config", "{badtoml}"), "invalid TOML"),
    (("status",), "--logs-root"),
    (("run", "{gate}", "--interviewer", "bogus"), "unknown interviewer 'bogus'"),
    (("run", "{dot}", "--run-id", "../../escape"), "--run-id"),
    (("run", "{dot}", "--run-id", "a/b"), "--run-id"),
])
def test_usage_and_input_errors_exit_2_without_traceback(
        tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    paths = {
        "dot": pipeline(tmp_path, "  start -> exit"),
        "missing": tmp_path / "missing.dot",
        "broken": write(tmp_path, "digraph P {\n  a -> -> b\n}\n", "broken.dot"),
        "badtoml": write(tmp_path, "[run\n", "bad.toml"),
        "gate": pipeline(tmp_path, '  g [shape=hexagon, label="ok?"]\n  start -> g\n'
                                   '  g -> exit [label="Yes"]', name="gate.dot"),
    }
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    result = attractor(*argv, "--logs-root", tmp_path / "logs") if argv[0] == "run" \
        and len(argv) > 1 else attractor(*argv)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "logs" / "final.json").exists()


def test_set_overrides_the_goal_seen_by_prompts(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, '  plan [shape=box, prompt="Plan: $goal"]\n  start -> plan -> exit',
                   goal="the file's goal")
    result = attractor("run", dot, "--logs-root", root, "--set", "goal=build a kite")
    assert result.returncode == 0, result.stderr
    assert (root / "plan" / "prompt.md").read_text() == "Plan: build a kite"
    manifest = read_json(root / "manifest.json")
    assert (manifest["goal"], manifest["overrides"]) == ("build a kite", {"goal": "build a kite"})
    assert read_json(root / "checkpoint.json")["context"]["graph.goal"] == "build a kite"


def test_workdir_is_where_tools_run_and_default_logs_root_lives(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dot = pipeline(tmp_path, """
  where [shape=parallelogram, tool_command="pwd > where.txt; echo $ATTRACTOR_WORKDIR >> where.txt"]
  start -> where -> exit""")
    result = attractor("run", dot, "--workdir", work, "--run-id", "wd-1", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (work / "where.txt").read_text().split() == [str(work), str(work)]
    root = work / ".attractor" / "runs" / "wd-1"
    assert final(root)["status"] == "success"
    assert read_json(root / "manifest.json")["workdir"] == str(work)
    assert not (elsewhere / ".attractor").exists()


def test_default_logs_root_is_under_the_current_directory_without_workdir(
        tmp_path: Path) -> None:
    dot = pipeline(tmp_path, "  start -> exit")
    result = attractor("run", dot, "--run-id", "cwd-1", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert final(tmp_path / ".attractor" / "runs" / "cwd-1")["run_id"] == "cwd-1"


SLOW_TOOL = """
  graph [stage_timeout="{graph}"]
  t [shape=parallelogram, tool_command="sleep 5"]
  start -> t -> exit"""


@pytest.mark.slow
def test_policy_precedence_cli_over_config_over_graph(tmp_path: Path) -> None:
    """stage_timeout shows up in the failure reason, so each source is visible."""
    dot = pipeline(tmp_path, SLOW_TOOL.format(graph="400ms"))
    config = write(tmp_path, '[run]\nstage_timeout = "300ms"\nkill_grace = "100ms"\n',
                   "attractor.toml")
    cases = [
        (("--config", config, "--stage-timeout", "200ms"), "200ms"),
        (("--config", config), "300ms"),
        (("--kill-grace", "100ms"), "400ms"),
    ]
    for index, (extra, expected) in enumerate(cases):
        root = tmp_path / f"logs{index}"
        result = attractor("run", dot, "--logs-root", root, "--quiet", "--workdir", tmp_path,
                           *extra)
        assert result.returncode == 1, result.stderr
        assert final(root)["failure_reason"] == f"stage timeout after {expected}"


def test_resume_flags_and_exit_code_of_a_resumed_failure(tmp_path: Path) -> None:
    """A run interrupted before its end is resumed by the CLI; the exit code is the run's."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, '  a [shape=box, sim.outcome=fail, sim.failure_reason="bad"]\n'
                             "  start -> a -> exit")
    assert attractor("run", dot, "--logs-root", root, "--quiet").returncode == 1
    # Pretend the process died before final.json: the last routing decision is replayed.
    (root / "final.json").unlink()
    result = attractor("resume", "--logs-root", root, "--quiet")
    assert result.returncode == 1, result.stderr
    data = final(root)
    assert (data["exit_path"], data["failed_node_id"], data["failure_reason"]) == (
        "stage_failed", "a", "bad")


def test_input_errors_on_a_terminal_exit_2_without_traceback(tmp_path: Path) -> None:
    """On a terminal the live view ticks beside the run; an input error still prints one line."""
    broken = write(tmp_path, "digraph P {\n  a -> -> b\n}\n", "broken.dot")
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(cli_command("run", broken, "--logs-root", tmp_path / "logs"),
                                stdout=follower, stderr=subprocess.PIPE, text=True, timeout=60,
                                check=False)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert "broken.dot:2" in result.stderr and "Traceback" not in result.stderr


def test_a_logs_root_that_is_a_file_is_an_input_error(tmp_path: Path) -> None:
    occupied = write(tmp_path, "not a directory\n", "occupied")
    dot = pipeline(tmp_path, "  start -> exit")
    result = attractor("run", dot, "--logs-root", occupied, "--quiet")
    assert result.returncode == 2, result.stderr
    assert "occupied" in result.stderr and "Traceback" not in result.stderr
    assert occupied.read_text() == "not a directory\n"


def test_a_missing_workdir_is_an_input_error(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, "  start -> exit")
    missing = tmp_path / "no" / "such" / "dir"
    result = attractor("run", dot, "--workdir", missing, "--quiet")
    assert result.returncode == 2, result.stderr
    assert str(missing) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "no").exists()
