"""``attractor status --logs-root DIR [--json]``: the run's state from its artifacts alone."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from .support import attractor, pipeline, start_attractor, wait_for_file


def _status(root: Path) -> tuple[str, dict[str, Any]]:
    text = attractor("status", "--logs-root", root)
    raw = attractor("status", "--logs-root", root, "--json")
    assert text.returncode == 0 and raw.returncode == 0, text.stderr + raw.stderr
    return text.stdout, json.loads(raw.stdout)


LONG = """
  prep [shape=box]
  long [shape=parallelogram, tool_command="sleep 30 & echo $! > sleeper.pid; wait"]
  start -> prep -> long -> exit"""


@pytest.mark.slow
def test_status_of_a_running_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    proc = start_attractor("run", pipeline(tmp_path, LONG), "--logs-root", root,
                           "--workdir", tmp_path, "--run-id", "live-1", "--kill-grace", "100ms")
    try:
        wait_for_file(tmp_path / "sleeper.pid", proc)
        text, data = _status(root)
        assert (data["state"], data["run_id"]) == ("running", "live-1")
        assert (data["current_node"], data["attempt"]) == ("long", 1)
        assert data["last_event"]["event"] in ("stage_attempt_start", "stage_heartbeat")
        assert "run live-1: running" in text and "current node: long (attempt 1)" in text
        assert data["owner_pid"] == proc.pid and f"owner: pid {proc.pid}\n" in text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    _, after = _status(root)
    assert after["state"] == "canceled"


def test_status_of_a_successful_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    assert attractor("run", dot, "--logs-root", root, "--run-id", "ok-1").returncode == 0
    text, data = _status(root)
    assert (data["state"], data["exit_path"]) == ("success", "success")
    assert data["completed_nodes"] == ["start", "a", "exit"]
    assert data["last_event"]["event"] == "run_completed"
    assert "run ok-1: success" in text and "succeeded" in text


def test_status_of_a_failed_run_explains_node_reason_class_and_path(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  build [shape=box]
  test [shape=box, sim.outcome=fail, sim.failure_reason="3 tests failed"]
  check [shape=diamond]
  start -> build -> test -> check -> exit""")
    assert attractor("run", dot, "--logs-root", root).returncode == 1
    text, data = _status(root)
    assert (data["state"], data["exit_path"], data["failed_node_id"]) == (
        "fail", "stage_failed", "test")
    explanation = data["explanation"]
    for part in ("at node test", "stage_failed", "class deterministic", "3 tests failed",
                 "start -> build -> test -> check"):
        assert part in explanation, (part, explanation)
    assert explanation in text


def test_status_of_a_canceled_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    proc = start_attractor("run", pipeline(tmp_path, LONG), "--logs-root", root,
                           "--workdir", tmp_path, "--kill-grace", "100ms")
    wait_for_file(tmp_path / "sleeper.pid", proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 3
    text, data = _status(root)
    assert (data["state"], data["exit_path"]) == ("canceled", "canceled")
    assert "SIGINT" in data["failure_reason"]
    assert "canceled" in text


def test_status_of_an_interrupted_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    proc = start_attractor("run", pipeline(tmp_path, LONG), "--logs-root", root,
                           "--workdir", tmp_path)
    pid_file = tmp_path / "sleeper.pid"
    wait_for_file(pid_file, proc)
    proc.kill()  # SIGKILL: no chance to write final.json
    proc.communicate(timeout=30)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the tool's own process group
    lock = (root / "run.lock").read_bytes()  # left behind by the killed owner
    text, data = _status(root)
    assert (root / "run.lock").read_bytes() == lock  # status only reads
    assert data["state"] == "interrupted"
    assert data["current_node"] == "long"
    assert "attractor resume --logs-root" in data["explanation"]
    assert "interrupted" in text and "current node: long" in text
    assert not (root / "final.json").exists()


def test_status_of_a_directory_without_a_run(tmp_path: Path) -> None:
    result = attractor("status", "--logs-root", tmp_path)
    assert result.returncode == 2
    assert "no run here" in result.stderr and "Traceback" not in result.stderr
