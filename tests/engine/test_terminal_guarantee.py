"""The terminal guarantee: every exit the process controls writes final.json
once, with every field, then the terminal event as the last progress line."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import trio

from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.protocols import StageRun

from .support import (
    FINAL_FIELDS,
    TERMINAL_EVENTS,
    assert_complete_final,
    attractor,
    events,
    pipeline,
    process_gone,
    read_json,
    run,
    seqs_strictly_increase,
    start_attractor,
    visited,
    wait_for_file,
)


def _final_seen_with_terminal_event(root: Path) -> tuple[list[bool], Any]:
    """An observer that records, at each terminal event, whether final.json already exists."""
    seen: list[bool] = []

    def observe(event: Mapping[str, Any]) -> None:
        if event["event"] in TERMINAL_EVENTS.values():
            seen.append((root / "final.json").exists())

    return seen, observe


def _terminal_events(root: Path) -> list[str]:
    return [e["event"] for e in events(root) if e["event"] in TERMINAL_EVENTS.values()]


async def test_success_writes_complete_final_before_terminal_event(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    seen, observe = _final_seen_with_terminal_event(root)
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    record = await run(dot, root, run_id="run-ok", on_event=observe)
    data = assert_complete_final(root, record)
    assert seen == [True]
    assert _terminal_events(root) == ["run_completed"]
    assert (data["run_id"], data["status"], data["exit_path"]) == ("run-ok", "success", "success")
    assert (data["failure_reason"], data["failed_node_id"], data["restart_count"]) == ("", "", 0)
    assert data["completed_nodes"] == ["start", "a", "exit"]
    assert data["schema_version"] == 1
    assert data["duration_ms"] >= 0 and data["finished_at"] >= data["started_at"]
    assert oct((root / "final.json").stat().st_mode & 0o777) == "0o644"


async def test_failed_stage_without_route(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    seen, observe = _final_seen_with_terminal_event(root)
    dot = pipeline(tmp_path, """
  a [shape=box, sim.outcome=fail, sim.failure_reason="compile error in main.c:12"]
  start -> a
  a -> exit [condition="outcome=success"]""")
    record = await run(dot, root, on_event=observe)
    data = assert_complete_final(root, record)
    assert seen == [True]
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert (data["failed_node_id"], data["failure_class"]) == ("a", "deterministic")
    assert data["failure_reason"] == "compile error in main.c:12"
    assert data["failure_signature"] == "a|deterministic|compile error in main.c:<n>"
    assert _terminal_events(root) == ["run_failed"]


async def test_goal_gate_unsatisfied_without_retry_target(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  gate [shape=box, goal_gate=true, sim.outcome=fail, sim.failure_reason="tests red"]
  start -> gate
  gate -> exit [condition="outcome=fail"]
  gate -> exit [condition="outcome=success"]""")
    record = await run(dot, root)
    data = assert_complete_final(root, record)
    assert (data["status"], data["exit_path"]) == ("fail", "goal_gate_unsatisfied")
    assert data["failed_node_id"] == "gate"
    assert data["failure_reason"] == "goal gate unsatisfied (gate) and no retry target"
    assert [e["retry_target"] for e in events(root, "goal_gate_unsatisfied")] == [""]


class _Exploding:
    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        raise RuntimeError("kaboom from a plugin")


class _ExplodingPlugin:
    @hookimpl
    def attractor_handler_types(self) -> dict[str, Any]:
        return {"exploding": _Exploding()}


async def test_handler_crash_is_a_failed_stage_never_success(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    # An unconditional edge to exit must not turn the crash into success.
    dot = pipeline(tmp_path, "  boom [shape=box, type=exploding, max_retries=2]\n"
                             "  start -> boom -> exit")
    pm = make_plugin_manager(extra_plugins=[_ExplodingPlugin()])
    record = await run(dot, root, pm=pm)
    data = assert_complete_final(root, record)
    assert (data["status"], data["exit_path"], data["failed_node_id"]) == (
        "fail", "stage_failed", "boom")
    assert "RuntimeError: kaboom from a plugin" in data["failure_reason"]
    crash = (root / "boom" / "crash.txt").read_text()
    assert "Traceback" in crash and "kaboom from a plugin" in crash
    assert read_json(root / "boom" / "status.json")["outcome"] == "fail"
    assert visited(root) == ["start", "boom"]  # a crash is deterministic: not retried


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_run_and_kills_the_tool(tmp_path: Path, signum: int) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  long [shape=parallelogram, tool_command="sleep 30 & echo $! > sleeper.pid; wait"]
  after [shape=box]
  start -> long -> after -> exit""")
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                           "--kill-grace", "200ms", cwd=tmp_path)
    sleeper = int(wait_for_file(tmp_path / "sleeper.pid", proc))
    proc.send_signal(signum)
    err = _stderr_at_exit(proc)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    data = assert_complete_final(root)
    assert (data["status"], data["exit_path"]) == ("canceled", "canceled")
    assert signal.Signals(signum).name in data["failure_reason"]
    assert "after" not in visited(root)
    assert read_json(root / "long" / "status.json")["outcome"] == "fail"
    assert not (root / "run.lock").exists()
    assert process_gone(sleeper)


def _stderr_at_exit(proc: subprocess.Popen[str]) -> str:
    """Wait (bounded) for the CLI to exit; its stderr."""
    try:
        return proc.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _live(root: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = read_json(root / "live.json")
    except (OSError, ValueError):
        return {}
    return data


def test_signal_is_honoured_in_a_run_of_stages_that_never_wait(tmp_path: Path) -> None:
    """Simulated stages never block, so the engine itself must yield between stages:
    otherwise SIGINT, the watchdog and live.json would all wait for the run's end."""
    count = 20_000
    chain = " -> ".join(["start", *(f"n{i}" for i in range(count)), "exit"])
    nodes = "\n".join(f'  n{i} [prompt="step {i}"]' for i in range(count))
    dot = pipeline(tmp_path, f"{nodes}\n  {chain}")
    root = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path, "--quiet",
                           cwd=tmp_path)
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < 3:  # live.json keeps up with the run while it runs
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"live.json never moved on: {seen}"
        live = _live(root)
        if live.get("state") == "running":
            seen.add(live["current_node"])
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    err = _stderr_at_exit(proc)
    assert proc.returncode == 3, err
    data = assert_complete_final(root)
    assert (data["status"], data["exit_path"]) == ("canceled", "canceled")
    assert len(data["completed_nodes"]) < count + 2
    assert _live(root)["state"] == "canceled"


async def test_loop_restart_limit_ends_the_run(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    # A transient failure that restarts the loop; the signature breaker is set
    # above max_restarts so the restart limit is what ends it.
    dot = pipeline(tmp_path, """
  graph [max_restarts=2, loop_restart_signature_limit=10]
  work [shape=box, sim.outcome=fail, sim.failure_reason="flaky infra",
        sim.failure_class=transient_infra]
  start -> work
  work -> exit [condition="outcome=success"]
  work -> work [condition="outcome=fail", loop_restart=true]""")
    record = await run(dot, root)
    data = assert_complete_final(root, record)
    assert (data["status"], data["exit_path"]) == ("fail", "loop_restart_limit")
    assert data["failure_reason"] == "loop_restart limit exceeded (2 restarts, max 2)"
    assert (data["restart_count"], data["failed_node_id"]) == (2, "work")
    assert data["failure_class"] == "transient_infra"
    assert [e["restart_count"] for e in events(root, "loop_restart")] == [1, 2]
    for n in (1, 2):
        assert read_json(root / f"restart-{n}" / "work" / "status.json")["outcome"] == "fail"


async def test_loop_restart_limit_on_a_success_loop(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  graph [max_restarts=1]
  work [shape=box]
  start -> work
  work -> exit [condition="context.never=1"]
  work -> work [loop_restart=true]""")
    record = await run(dot, root)
    data = assert_complete_final(root, record)
    assert (data["exit_path"], data["restart_count"]) == ("loop_restart_limit", 1)
    assert record.exit_code == 1


async def test_invalid_graph_found_at_resume_still_ends_with_final(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  b [shape=box, sim.delay=10ms]\n"
                             "  start -> a -> b -> exit")

    def stop_at_b(event: Mapping[str, Any]) -> None:
        if event["event"] == "stage_attempt_start" and event["node_id"] == "b":
            scope.cancel()

    with trio.CancelScope() as scope:
        await run(dot, root, on_event=stop_at_b)
    assert read_json(root / "final.json")["status"] == "canceled"
    # Someone breaks the run's copy of the graph: b becomes unreachable.
    graph_copy = root / "graph.dot"
    graph_copy.write_text(graph_copy.read_text().replace("start -> a -> b -> exit",
                                                         "start -> a -> exit"))
    result = attractor("resume", "--logs-root", root, "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    data = assert_complete_final(root)
    assert (data["status"], data["exit_path"]) == ("fail", "invalid_graph")
    assert "no longer validates" in data["failure_reason"]
    assert "node b cannot be reached" in data["failure_reason"]
    assert data["failure_class"] == "structural"
    assert _terminal_events(root) == ["run_canceled", "run_failed"]  # canceled, then this one
    assert seqs_strictly_increase(root)


async def test_final_json_is_written_once_per_run(tmp_path: Path) -> None:
    """Nothing rewrites final.json after the terminal event (its inode and bytes stay)."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  a [shape=box]\n  start -> a -> exit")
    snapshots: list[tuple[int, bytes]] = []

    def observe(event: Mapping[str, Any]) -> None:
        if event["event"] == "run_completed":
            st = os.stat(root / "final.json")
            snapshots.append((st.st_ino, (root / "final.json").read_bytes()))

    await run(dot, root, on_event=observe)
    st = os.stat(root / "final.json")
    assert snapshots == [(st.st_ino, (root / "final.json").read_bytes())]
    assert set(read_json(root / "final.json")) >= FINAL_FIELDS
    assert not list(root.glob("*.tmp*")) and not list(root.glob(".*tmp*"))


async def test_cancel_through_the_api_is_canceled(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, "  slow [shape=box, sim.delay=30s]\n  start -> slow -> exit")

    def on_slow(event: Mapping[str, Any]) -> None:
        if event["event"] == "stage_attempt_start" and event["node_id"] == "slow":
            scope.cancel()

    with trio.CancelScope() as scope:
        await run(dot, root, on_event=on_slow)
    data = assert_complete_final(root)
    assert (data["status"], data["exit_path"], data["failure_class"]) == (
        "canceled", "canceled", "canceled")
    assert not (root / "run.lock").exists()


async def test_cancel_during_retry_backoff_starts_no_further_attempt(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  w [shape=box, max_retries=3, retry_policy=patient, sim.outcome=retry]
  start -> w -> exit""")

    def on_sleep(event: Mapping[str, Any]) -> None:
        if event["event"] == "stage_retry_sleep":
            scope.cancel()

    with trio.CancelScope() as scope:
        await run(dot, root, on_event=on_sleep)
    data = assert_complete_final(root)
    assert data["status"] == "canceled"
    assert [e["attempt"] for e in events(root, "stage_attempt_start")
            if e["node_id"] == "w"] == [1]
    assert [e["where"] for e in events(root, "cancellation_exit")] == ["retry_sleep"]
