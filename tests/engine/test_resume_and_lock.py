"""``resume`` continues from the checkpoint with everything restored; the run
lock keeps one live process per logs root."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import trio

from .support import (
    attempts,
    attractor,
    checkpoint,
    events,
    final,
    pipeline,
    read_json,
    resume,
    run,
    seqs_strictly_increase,
    start_attractor,
    visited,
    wait_for_file,
)


def _cancel_when(scope_box: list[trio.CancelScope], node: str,
                 attempt: int = 1) -> Callable[[Mapping[str, Any]], None]:
    def observe(event: Mapping[str, Any]) -> None:
        if (event["event"] == "stage_attempt_start" and event["node_id"] == node
                and event["attempt"] == attempt):
            scope_box[0].cancel()
    return observe


async def _run_until(dot: Path, root: Path, node: str, attempt: int = 1) -> None:
    """Run ``dot`` and cancel it (through the API) when ``node`` starts ``attempt``."""
    box: list[trio.CancelScope] = []
    with trio.CancelScope() as scope:
        box.append(scope)
        await run(dot, root, on_event=_cancel_when(box, node, attempt))
    assert final(root)["status"] == "canceled"


async def test_resume_restores_context_and_completed_nodes(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  a [shape=box, sim.context_updates="{\\"context.colour\\": \\"blue\\"}"]
  b [shape=box, sim.delay=50ms]
  blue [shape=box]
  other [shape=box]
  start -> a -> b
  b -> blue [condition="context.colour=blue"]
  b -> other
  blue -> exit
  other -> exit""")
    await _run_until(dot, root, "b")
    lines_before = len(events(root))

    seen_final_at_start: list[bool] = []

    def observe(event: Mapping[str, Any]) -> None:
        if event["event"] == "run_started":
            seen_final_at_start.append((root / "final.json").exists())

    record = await resume(root, on_event=observe)
    assert seen_final_at_start == [False]  # the canceled run's final.json was cleared
    assert record.status == "success"
    assert list(record.completed_nodes) == ["start", "a", "b", "blue", "exit"]
    all_events = events(root)
    assert len(all_events) > lines_before  # appended, not rewritten
    starts = [e for e in all_events if e["event"] == "run_started"]
    assert [s["resumed"] for s in starts] == [False, True]
    assert seqs_strictly_increase(root)
    # a ran once; b (in flight at the cancel) re-ran.
    assert visited(root).count("a") == 1 and visited(root).count("b") == 2


async def test_resume_restores_goal_gate_outcomes(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  gate [shape=box, goal_gate=true, sim.outcome=fail, sim.failure_reason="red"]
  c [shape=box, sim.delay=10ms]
  start -> gate
  gate -> c [condition="outcome=fail"]
  c -> exit""")
    await _run_until(dot, root, "c")
    record = await resume(root)
    assert (record.status, record.exit_path) == ("fail", "goal_gate_unsatisfied")
    assert record.failed_node_id == "gate"
    assert visited(root).count("gate") == 1


async def test_resume_counts_attempts_already_used(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  r [shape=box, max_retries=2, sim.outcome=retry, sim.delay=20ms]
  start -> r -> exit""")
    await _run_until(dot, root, "r", attempt=2)
    assert checkpoint(root)["node_retries"] == {"r": 1}
    assert attempts(root, "r") == [1, 2]
    record = await resume(root)
    # The in-flight attempt 2 re-runs, then attempt 3; never a fresh budget.
    assert attempts(root, "r") == [1, 2, 2, 3]
    assert record.failure_reason.startswith("retries exhausted after 3 attempt(s)")


async def test_resume_restores_restart_count(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  graph [max_restarts=3]
  work [shape=box, sim.delay=10ms]
  start -> work
  work -> exit [condition="context.loop_restart.iteration_count=1"]
  work -> work [loop_restart=true]""")
    await _run_until(dot, root, "work", attempt=1)  # first iteration: cancel at once
    record = await resume(root)
    # Resumed before any restart: one restart happens, then the exit condition holds.
    assert (record.status, record.restart_count) == ("success", 1)

    root2 = tmp_path / "logs2"
    box: list[trio.CancelScope] = []

    def cancel_in_restart(event: Mapping[str, Any]) -> None:
        if event["event"] == "loop_restart":
            box[0].cancel()

    with trio.CancelScope() as scope:
        box.append(scope)
        await run(dot, root2, on_event=cancel_in_restart)
    assert final(root2)["restart_count"] == 1
    record2 = await resume(root2)
    assert (record2.status, record2.restart_count) == ("success", 1)
    assert (root2 / "restart-1" / "work" / "status.json").exists()
    assert not (root2 / "restart-2").exists()


def test_resume_refuses_a_finished_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    assert attractor("run", dot, "--logs-root", root, "--quiet").returncode == 0
    before = (root / "final.json").read_bytes(), (root / "progress.ndjson").read_bytes()
    result = attractor("resume", "--logs-root", root)
    assert result.returncode == 2
    assert "already finished" in result.stderr and "Traceback" not in result.stderr
    assert ((root / "final.json").read_bytes(), (root / "progress.ndjson").read_bytes()) == before


def test_run_refuses_a_logs_root_that_holds_a_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    assert attractor("run", dot, "--logs-root", root, "--quiet").returncode == 0
    before = (root / "progress.ndjson").read_bytes()
    result = attractor("run", dot, "--logs-root", root)
    assert result.returncode == 2
    assert "already holds a run" in result.stderr and "attractor resume" in result.stderr
    assert (root / "progress.ndjson").read_bytes() == before


def _snapshot(root: Path) -> dict[str, bytes]:
    keep = ("manifest.json", "graph.dot", "final.json")
    return {p.name: p.read_bytes() for p in root.iterdir() if p.name in keep}


def test_second_process_on_a_live_logs_root_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  long [shape=parallelogram, tool_command="echo go > started; sleep 30"]
  start -> long -> exit""")
    owner = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                            "--kill-grace", "100ms")
    try:
        wait_for_file(tmp_path / "started", owner)
        lock = read_json(root / "run.lock")
        assert lock["pid"] == owner.pid and lock["pid_start_time"]
        before = _snapshot(root)
        starts = len(events(root, "run_started"))
        for args in (("run", dot, "--logs-root", root), ("resume", "--logs-root", root)):
            result = attractor(*args)
            assert result.returncode == 2, result.stderr
            assert "in use by another live process" in result.stderr
            assert str(owner.pid) in result.stderr and "Traceback" not in result.stderr
        assert _snapshot(root) == before
        assert len(events(root, "run_started")) == starts
        assert not (root / "final.json").exists()
        assert read_json(root / "run.lock")["pid"] == owner.pid
    finally:
        owner.terminate()
        owner.communicate(timeout=30)
    assert owner.returncode == 3


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_lock_left_by_a_dead_process_is_reclaimed(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box, sim.delay=10ms]\n  start -> a -> exit")
    await _run_until(dot, root, "a")
    (root / "run.lock").write_text(json.dumps(
        {"pid": _dead_pid(), "pid_start_time": 12345, "run_id": "ghost",
         "acquired_at": "2026-01-01T00:00:00Z"}) + "\n")
    result = attractor("resume", "--logs-root", root, "--quiet")
    assert result.returncode == 0, result.stderr
    assert final(root)["status"] == "success"
    assert not (root / "run.lock").exists()


async def test_a_lock_whose_pid_was_reused_is_reclaimed(tmp_path: Path) -> None:
    """A live pid with another start time is some other process, not the owner."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box, sim.delay=10ms]\n  start -> a -> exit")
    await _run_until(dot, root, "a")
    (root / "run.lock").write_text(json.dumps(
        {"pid": 1, "pid_start_time": 999_999_999, "run_id": "ghost",
         "acquired_at": "2026-01-01T00:00:00Z"}) + "\n")
    result = attractor("resume", "--logs-root", root, "--quiet")
    assert result.returncode == 0, result.stderr


def test_resume_without_a_run_is_a_usage_error(tmp_path: Path) -> None:
    result = attractor("resume", "--logs-root", tmp_path / "nothing")
    assert result.returncode == 2
    assert "no run here" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nothing").exists()


def _kill_when_started(args: list[str | Path], root: Path, node: str, starts: int) -> None:
    """Run the CLI and SIGKILL it (a crash) once ``node`` has started ``starts`` attempts."""
    proc = start_attractor(*args)
    limit = time.monotonic() + 60
    while time.monotonic() < limit:
        progress = root / "progress.ndjson"
        if progress.exists() and visited(root).count(node) >= starts:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


async def test_a_node_in_flight_at_too_many_crashes_is_failed_instead_of_rerun(
        tmp_path: Path) -> None:
    """Each resume re-runs the node that was in flight at a crash, at most three times."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  b [shape=box, sim.delay=30s]\n  start -> b -> exit")
    _kill_when_started(["run", dot, "--logs-root", root, "--quiet"], root, "b", 1)
    for crash in range(3):
        _kill_when_started(["resume", "--logs-root", root, "--quiet"], root, "b", crash + 2)
    record = await resume(root)
    assert (record.status, record.exit_path, record.failed_node_id) == (
        "fail", "stage_failed", "b")
    assert "in flight at 4 interrupted runs" in record.failure_reason
    assert record.failure_class == "deterministic"
    assert visited(root).count("b") == 4  # the first run and three resumes


async def test_cancellations_do_not_count_as_crashes(tmp_path: Path) -> None:
    """A run stopped on purpose (Ctrl-C, the API) re-runs its node on every resume."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  b [shape=box, sim.delay=50ms]\n  start -> b -> exit")
    await _run_until(dot, root, "b")
    for _ in range(4):
        box: list[trio.CancelScope] = []
        with trio.CancelScope() as scope:
            box.append(scope)
            await resume(root, on_event=_cancel_when(box, "b"))
        assert final(root)["status"] == "canceled"
    record = await resume(root)
    assert record.status == "success"
    assert visited(root).count("b") == 6  # the first run, four canceled resumes, the last


async def test_a_resume_refused_for_bad_input_leaves_the_run_as_it_was(tmp_path: Path) -> None:
    """An unreadable checkpoint is exit 2; the canceled run's final.json stays."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box, sim.delay=10ms]\n  start -> a -> exit")
    await _run_until(dot, root, "a")
    before = (root / "final.json").read_bytes(), (root / "progress.ndjson").read_bytes()
    (root / "checkpoint.json").write_text("{")
    result = attractor("resume", "--logs-root", root)
    assert result.returncode == 2
    assert "unreadable checkpoint" in result.stderr and "Traceback" not in result.stderr
    assert ((root / "final.json").read_bytes(), (root / "progress.ndjson").read_bytes()) == before
    assert not (root / "run.lock").exists()


@pytest.mark.slow
def test_cli_resume_can_be_canceled_and_resumed_again(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    marker = tmp_path / "second.pid"
    # The tool blocks only on its first execution; it records each execution.
    command = (f"echo x >> runs.txt; if [ $(wc -l < runs.txt) -le 2 ]; then sleep 30 & "
               f"echo $! > {marker.name}; wait; fi")
    dot = pipeline(tmp_path, f"""
  t [shape=parallelogram, tool_command="{command}"]
  start -> t -> exit""")
    first = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                            "--kill-grace", "100ms")
    wait_for_file(marker, first)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    assert first.returncode == 3
    marker.unlink()
    second = start_attractor("resume", "--logs-root", root, "--kill-grace", "100ms")
    wait_for_file(marker, second)
    second.send_signal(signal.SIGINT)
    second.communicate(timeout=30)
    assert second.returncode == 3
    assert final(root)["status"] == "canceled"
    third = attractor("resume", "--logs-root", root, "--quiet")
    assert third.returncode == 0, third.stderr
    assert (tmp_path / "runs.txt").read_text().count("x") == 3
    assert [e["resumed"] for e in events(root, "run_started")] == [False, True, True]
    assert seqs_strictly_increase(root)


async def test_an_attempt_rerun_after_an_interruption_continues_its_execution(
        tmp_path: Path) -> None:
    """The re-run attempt is the interrupted execution again: it gets the same
    ``sim.outcome`` entry and ``attempt_id``, not the next ones."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  r [shape=box, sim.outcome="partial_success,success", sim.delay=50ms]
  start -> r -> exit""")
    await _run_until(dot, root, "r")
    record = await resume(root)
    assert record.status == "success"
    assert read_json(root / "r" / "status.json")["outcome"] == "partial_success"
    ids = [e["attempt_id"] for e in events(root, "stage_attempt_start") if e["node_id"] == "r"]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert checkpoint(root)["node_executions"]["r"] == 1


async def test_a_kill_during_an_in_process_stage_loses_no_ended_stage(tmp_path: Path) -> None:
    """simulate reports its status in process, so a stage's one status.json is written as
    its attempt ends, together with its ingestion and end events. SIGKILLed while ``b``
    runs: every stage whose end was logged has its status.json, and ``b`` has none yet; the
    resume re-runs ``b`` and every stage ends with its status.json."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  b [shape=box, sim.delay=1500ms]\n  c [shape=box]\n"
                             "  start -> a -> b -> c -> exit")
    _kill_when_started(["run", dot, "--logs-root", root, "--quiet"], root, "b", 1)
    ended = {e["node_id"]: e["status"] for e in events(root, "stage_attempt_end")}
    assert {"start", "a"} <= ended.keys() and "b" not in ended
    assert {e["node_id"] for e in events(root, "status_ingestion_decision")} == ended.keys()
    for node, outcome in ended.items():
        status = read_json(root / node / "status.json")
        assert (status["outcome"], status["node_id"], status["attempt"]) == (outcome, node, 1)
        assert "finished_at" in status
    assert {p.name for p in (root / "b").iterdir()} <= {"prompt.md"}
    record = await resume(root)
    assert record.status == "success"
    for node in ("a", "b", "c"):
        status = read_json(root / node / "status.json")
        assert (status["outcome"], status["node_id"]) == ("success", node)
    assert visited(root).count("b") == 2
