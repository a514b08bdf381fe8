"""``attractor run --detach``, ``attractor stop`` and ``attractor runs``, through the real CLI.

A detached run is a real process in its own session; ``stop`` reaches it from another
process; ``runs`` reads the run directories. Every test checks that nothing of the run is
left running, through /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .support import (
    attractor,
    events,
    final,
    group_alive,
    pipeline,
    process_gone,
    read_json,
)

pytestmark = pytest.mark.slow

# The stage records its process group (the shell leads it) and waits, unless ``go`` exists:
# then it succeeds at once (the resume after a stop).
WAITER = ("test -f {go} && exit 0; echo $$ > {started}; {body}")
SLEEP = "sleep 60"
# A grandchild that ignores SIGTERM: only SIGKILL (an escalation) ends the stage.
STUBBORN = "sh -c 'trap \\\"\\\" TERM; while true; do sleep 0.05; done' & wait"


def waiting_pipeline(tmp_path: Path, body: str = SLEEP) -> Path:
    command = WAITER.format(go=tmp_path / "go", started=tmp_path / "started", body=body)
    return pipeline(tmp_path, f'  work [shape=parallelogram, tool_command="{command}"]\n'
                              "  start -> work -> exit")


def detach(*args: str | Path, cwd: Path) -> dict[str, str]:
    done = attractor("run", *args, "--detach", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


def started_group(tmp_path: Path) -> int:
    path = tmp_path / "started"
    deadline = time.monotonic() + 60
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, "the detached run's stage never started"
        time.sleep(0.02)
    return int(path.read_text())


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def runs(root: Path) -> list[dict[str, Any]]:
    done = attractor("runs", "--runs-root", root, "--json")
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def test_a_detached_run_is_listed_stopped_and_resumed(tmp_path: Path) -> None:
    dot = waiting_pipeline(tmp_path)
    shown = detach(dot, "--workdir", tmp_path, "--run-id", "r1", cwd=tmp_path)
    root = tmp_path / ".attractor" / "runs" / "r1"
    assert shown["run_id"] == "r1" and shown["logs_root"] == str(root)
    assert "run_branch" not in shown and "worktree" not in shown  # no git here
    pgid = started_group(tmp_path)  # the run goes on after the command returned
    try:
        assert os.getsid(int(shown["pid"])) == int(shown["pid"])  # a session of its own
        (line,) = runs(tmp_path / ".attractor" / "runs")
        assert (line["run_id"], line["state"], line["node"]) == ("r1", "running", "work")
        assert line["owner_pid"] == int(shown["pid"])
        table = attractor("runs", cwd=tmp_path)  # the default root: ./.attractor/runs
        assert table.returncode == 0 and "r1" in table.stdout and "running" in table.stdout

        stop = attractor("stop", "--logs-root", root)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert "canceled (stopped) at work" in stop.stdout
        assert f"attractor resume --logs-root {root}" in stop.stdout
        assert not group_alive(pgid) and process_gone(int(shown["pid"]))
    finally:
        kill_group(pgid)
    ended = final(root)
    assert (ended["status"], ended["exit_path"], ended["failed_node_id"]) == (
        "canceled", "stopped", "work")
    assert ended["failure_reason"].startswith("stopped by attractor stop (pid ")
    assert events(root)[-1]["event"] == "run_canceled"
    assert events(root)[-1]["exit_path"] == "stopped"
    (line,) = runs(tmp_path / ".attractor" / "runs")
    assert (line["state"], line["exit_path"]) == ("canceled", "stopped")

    again = attractor("stop", "--logs-root", root)
    assert again.returncode == 2
    assert "already finished (canceled, exit_path stopped)" in again.stderr
    assert "Traceback" not in again.stderr

    (tmp_path / "go").write_text("")
    resumed = attractor("resume", "--logs-root", root, "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert final(root)["status"] == "success"
    assert "work" in final(root)["completed_nodes"]
    assert "detached.out" in os.listdir(root) and "detached.err" in os.listdir(root)


def test_a_stop_escalates_after_its_grace_and_leaves_nothing_running(tmp_path: Path) -> None:
    dot = waiting_pipeline(tmp_path, STUBBORN)
    shown = detach(dot, "--workdir", tmp_path, "--logs-root", tmp_path / "logs",
                   "--kill-grace", "600s", cwd=tmp_path)
    pgid = started_group(tmp_path)
    try:
        stop = attractor("stop", "--logs-root", tmp_path / "logs", "--grace", "1s")
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert "escalating" in stop.stdout
        assert not group_alive(pgid) and process_gone(int(shown["pid"]))
    finally:
        kill_group(pgid)
    assert final(tmp_path / "logs")["exit_path"] == "stopped"
    assert events(tmp_path / "logs", "cancellation_escalated")


def test_an_owner_that_cannot_end_is_killed_and_the_run_stays_resumable(
        tmp_path: Path) -> None:
    dot = waiting_pipeline(tmp_path)
    shown = detach(dot, "--workdir", tmp_path, "--logs-root", tmp_path / "logs",
                   cwd=tmp_path)
    pgid = started_group(tmp_path)
    owner = int(shown["pid"])
    try:
        os.kill(owner, signal.SIGSTOP)  # it can no longer handle any signal but SIGKILL
        stop = attractor("stop", "--logs-root", tmp_path / "logs", "--grace", "1s")
        assert stop.returncode == 1, stop.stdout + stop.stderr
        assert "its process was killed" in stop.stdout
        assert process_gone(owner) and not group_alive(pgid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(owner, signal.SIGKILL)
        kill_group(pgid)
    assert not (tmp_path / "logs" / "final.json").exists()
    (line,) = runs(tmp_path)
    assert line["state"] == "interrupted"
    (tmp_path / "go").write_text("")
    resumed = attractor("resume", "--logs-root", tmp_path / "logs", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr


def test_stop_without_a_live_owner_stops_what_it_left_and_never_a_reused_pid(
        tmp_path: Path) -> None:
    dot = waiting_pipeline(tmp_path)
    root = tmp_path / "logs"
    shown = detach(dot, "--workdir", tmp_path, "--logs-root", root, cwd=tmp_path)
    pgid = started_group(tmp_path)
    try:
        os.kill(int(shown["pid"]), signal.SIGKILL)  # the stage's group lives on
        assert process_gone(int(shown["pid"]))
        stop = attractor("stop", "--logs-root", root)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert "is not running" in stop.stdout and "stopped 1 process group(s)" in stop.stdout
        assert not group_alive(pgid)
    finally:
        kill_group(pgid)
    again = attractor("stop", "--logs-root", root)
    assert again.returncode == 2 and "nothing to stop" in again.stderr

    # The lock now names a live process (this test's) that is not the run's owner: its start
    # time differs. It must be neither signalled nor listed as running.
    lock = read_json(root / "run.lock")
    lock.update(pid=os.getpid(), pid_start_time=1, stops_on_signal=True)
    (root / "run.lock").write_text(json.dumps(lock))
    forged = attractor("stop", "--logs-root", root)
    assert forged.returncode == 2 and "is not running" in forged.stderr
    (line,) = runs(tmp_path)
    assert line["state"] == "interrupted" and line["owner_pid"] is None

    (root / "run.lock").write_text("{not json")
    unreadable = attractor("stop", "--logs-root", root)
    assert unreadable.returncode == 2 and "run.lock cannot be read" in unreadable.stderr


def test_detach_relays_a_refused_run_and_leaves_no_directory(tmp_path: Path) -> None:
    bad = pipeline(tmp_path, "  start -> nowhere", name="bad.dot")
    done = attractor("run", bad, "--detach", "--logs-root", tmp_path / "logs", cwd=tmp_path)
    assert done.returncode == 2
    assert "nowhere" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "logs").exists()

    good = pipeline(tmp_path, "  start -> exit")
    console = attractor("run", good, "--detach", "--interviewer", "console", cwd=tmp_path)
    assert console.returncode == 2 and "without a terminal" in console.stderr
    first = attractor("run", good, "--logs-root", tmp_path / "logs", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = attractor("run", good, "--detach", "--logs-root", tmp_path / "logs", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert final(tmp_path / "logs")["status"] == "success"  # untouched


def test_runs_lists_broken_run_directories_as_unreadable(tmp_path: Path) -> None:
    good = pipeline(tmp_path, "  start -> exit")
    root = tmp_path / "runs"
    done = attractor("run", good, "--logs-root", root / "ok", "--run-id", "ok", "--quiet",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (root / "garbled").mkdir()
    (root / "garbled" / "manifest.json").write_text("{not json")
    (root / "empty").mkdir()
    (root / "stray-file").write_text("not a run directory")

    listed = {line["run_id"]: line for line in runs(root)}
    assert set(listed) == {"ok", "garbled", "empty"}
    assert listed["ok"]["state"] == "success" and listed["ok"]["node"] == "exit"
    assert listed["garbled"]["state"] == "unreadable"
    assert "unreadable manifest" in listed["garbled"]["problem"]
    assert listed["empty"]["state"] == "unreadable"
    assert "manifest.json is missing" in listed["empty"]["problem"]

    table = attractor("runs", "--runs-root", root)
    assert table.returncode == 0 and "Traceback" not in table.stderr
    assert table.stdout.splitlines()[0].split() == ["RUN", "STATE", "AGE", "NODE", "WORKSPACE"]
    assert "unreadable manifest" in table.stdout

    empty = attractor("runs", "--runs-root", tmp_path / "none-yet")
    assert empty.returncode == 0 and empty.stdout.startswith("no runs under ")
    not_dir = attractor("runs", "--runs-root", root / "stray-file")
    assert not_dir.returncode == 2 and "is not a directory" in not_dir.stderr


API_RUN = """import sys, trio
from attractor_core.engine import run_pipeline
trio.run(lambda: run_pipeline(sys.argv[1], logs_root=sys.argv[2], workdir=sys.argv[3],
                              handle_signals=False))
"""


def test_stop_refuses_an_owner_that_does_not_turn_signals_into_a_cancellation(
        tmp_path: Path) -> None:
    dot = waiting_pipeline(tmp_path)
    owner = subprocess.Popen([sys.executable, "-c", API_RUN, str(dot), str(tmp_path / "logs"),
                              str(tmp_path)], start_new_session=True)
    pgid = 0
    try:
        pgid = started_group(tmp_path)
        stop = attractor("stop", "--logs-root", tmp_path / "logs")
        assert stop.returncode == 2
        assert "does not turn signals into a cancellation" in stop.stderr
        assert owner.poll() is None and group_alive(pgid)  # nothing was signalled
    finally:
        owner.kill()
        owner.wait()
        if pgid:
            kill_group(pgid)
