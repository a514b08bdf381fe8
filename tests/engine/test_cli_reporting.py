"""What ``attractor`` tells the user: its version, how a canceled run can go on, and a
progress view that shows routing as routing and repeated visits as visits."""

from __future__ import annotations

import signal
import subprocess
from importlib.metadata import version
from pathlib import Path

from .support import (
    attractor,
    cli_command,
    events,
    final,
    pipeline,
    start_attractor,
    wait_for_file,
    write,
)


def test_version_names_the_installed_distribution() -> None:
    result = attractor("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"attractor {version('attractor-core')}\n"


def test_a_canceled_run_ends_with_run_canceled_and_says_how_to_resume(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  long [shape=parallelogram, tool_command="sleep 30 & echo $! > sleeper.pid; wait"]
  start -> long -> exit""")
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                           "--kill-grace", "200ms", cwd=tmp_path)
    wait_for_file(tmp_path / "sleeper.pid", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    last = events(root)[-1]
    assert (last["event"], last["status"], last["exit_path"]) == (
        "run_canceled", "canceled", "canceled")
    assert last["resume_command"] == f"attractor resume --logs-root {root.resolve()}"
    assert not events(root, "run_failed")
    assert final(root)["status"] == "canceled"
    hint = f"attractor resume --logs-root {root.resolve()}"
    assert out.rstrip().endswith(f"continue it with: {hint}")
    assert f"Continue it with '{hint}'." in attractor("status", "--logs-root", root).stdout


def test_a_failed_run_does_not_offer_a_resume(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  build [shape=parallelogram, tool_command="exit 1"]
  start -> build -> exit""")
    result = attractor("run", dot, "--logs-root", tmp_path / "logs", cwd=tmp_path)
    assert result.returncode == 1
    assert "attractor resume" not in result.stdout


LOOP = """
  review [shape=box, sim.outcome="fail,fail,success", sim.failure_reason="nits"]
  gate [shape=diamond]
  fix [shape=box]
  start -> review -> gate
  gate -> fix [condition="outcome=fail"]
  gate -> exit [condition="outcome=success"]
  fix -> review"""


def test_progress_shows_diamond_routing_and_visit_numbers(tmp_path: Path) -> None:
    result = subprocess.run(
        cli_command("run", pipeline(tmp_path, LOOP), "--logs-root", tmp_path / "logs"),
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("↳ gate routes the failure of review") == 2
    assert not [line for line in lines if line.startswith("✗ gate")]
    assert "▶ review (attempt 1)" in lines
    assert "▶ review (visit 2)" in lines and "▶ review (visit 3)" in lines
    assert any(line.startswith("✓ review success (visit 3, ") for line in lines)
    assert any(line.startswith("✗ review fail (visit 2, ") for line in lines)
    starts = events(tmp_path / "logs", "stage_attempt_start")
    assert [e["visit"] for e in starts if e["node_id"] == "review"] == [1, 2, 3]
    passed = [e for e in events(tmp_path / "logs", "stage_attempt_end") if e["node_id"] == "gate"]
    assert [e["failed_node_id"] for e in passed] == ["review", "review", ""]
    assert all(e["routing_point"] for e in passed)


def test_a_failed_sub_pipeline_prints_as_a_failure_not_as_routing(tmp_path: Path) -> None:
    """Its failure names the child's node, yet it is the sub-pipeline node's own."""
    write(tmp_path, """digraph Child { start [shape=Mdiamond]; exit [shape=Msquare]
  broken [shape=parallelogram, tool_command="echo nope >&2; exit 1"]
  start -> broken -> exit }
""", "child.dot")
    dot = pipeline(tmp_path, """
  sub [type="subgraph", subgraph.dotfile="child.dot"]
  start -> sub -> exit""")
    result = attractor("run", dot, "--logs-root", tmp_path / "logs", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("✗ sub fail (attempt 1, ") for line in lines), lines
    assert not [line for line in lines if line.startswith("↳")]
