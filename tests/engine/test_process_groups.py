"""Nothing a run started keeps running behind its back.

* ``kill -9`` of ``attractor run`` leaves its process groups alive; they are
  listed in ``processes.json``, ``attractor status`` names them, and
  ``attractor resume`` stops them before the stage starts again, so two
  copies of a stage never run at once.
* A second SIGINT or SIGTERM during a cancellation escalates: SIGKILL to
  every live group, no more grace; the run still ends ``canceled`` (exit 3,
  final.json, lock released) and a third signal changes nothing more.

Every command here ignores SIGTERM in a grandchild, so only SIGKILL stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.backends.support import FAKE_CLI

from .support import (
    assert_complete_final,
    attractor,
    cli_command,
    events,
    final,
    group_alive,
    pipeline,
    process_gone,
    read_json,
    start_attractor,
    wait_for_file,
)

pytestmark = pytest.mark.slow

# Each copy of the stage ticks its own pgid ($$: the shell leads its group) into
# ticks.log from a grandchild that ignores SIGTERM, and says it started in started.log.
TICKER = ("echo $$ >> started.log; "
          "sh -c 'trap \\\"\\\" TERM; while true; do echo {tag}'$$' >> ticks.log; "
          "sleep 0.05; done' & wait")


def ticking_stage(node: str, tag: str = "") -> str:
    command = TICKER.replace("{tag}", tag)
    return f'  {node} [shape=parallelogram, tool_command="{command}"]'


def ticking_fan_out(tmp_path: Path) -> Path:
    """Two parallel branches ``a`` and ``b``, each a ticking stage."""
    return pipeline(tmp_path, "\n".join([
        "  par [shape=component]", "  join [shape=tripleoctagon]",
        ticking_stage("a", "a"), ticking_stage("b", "b"),
        "  start -> par", "  par -> a -> join", "  par -> b -> join", "  join -> exit"]))


def wait_until_gone(pgids: list[int], limit_s: float = 15) -> list[int]:
    deadline = time.monotonic() + limit_s
    while (alive := [p for p in pgids if group_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def kill_groups(pgids: list[int]) -> None:
    """Test cleanup: SIGKILL the given groups (ours), whatever the outcome."""
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def started_pgids(workdir: Path) -> list[int]:
    path = workdir / "started.log"
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def wait_for_starts(workdir: Path, count: int, proc: subprocess.Popen[str]) -> list[int]:
    deadline = time.monotonic() + 60
    while len(started := started_pgids(workdir)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"only {started} started"
        time.sleep(0.02)
    return started


def wait_for_ticks(workdir: Path, *pgids: int) -> None:
    """Until every group's SIGTERM-ignoring grandchild has ticked (whatever its tag)."""
    deadline = time.monotonic() + 30
    while not {str(p) for p in pgids} <= {line.lstrip("ab") for line in tick_lines(workdir)}:
        assert time.monotonic() < deadline, f"groups {pgids} never all ticked"
        time.sleep(0.02)


def tick_lines(workdir: Path) -> list[str]:
    path = workdir / "ticks.log"
    return path.read_text().split() if path.exists() else []


def exit_of(proc: subprocess.Popen[str], limit_s: float = 30) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


def status_json(root: Path) -> dict[str, Any]:
    result = attractor("status", "--logs-root", root, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def recorded_groups(root: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = read_json(root / "processes.json")["groups"]
    return groups


def wait_for_records(root: Path, pgids: list[int]) -> list[dict[str, Any]]:
    """The recorded groups, once they are exactly ``pgids`` (a command may write its first
    line before the runner has recorded its group)."""
    deadline = time.monotonic() + 30
    while True:
        groups: list[dict[str, Any]] = []
        with contextlib.suppress(OSError, ValueError):
            groups = recorded_groups(root)
        if sorted(g["pgid"] for g in groups) == sorted(pgids):
            return groups
        assert time.monotonic() < deadline, f"{pgids} never recorded alone"
        time.sleep(0.02)


def test_resume_after_kill_9_stops_the_orphaned_stage_before_running_it_again(
        tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, ticking_stage("long") + "\n  start -> long -> exit")
    first = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                            "--kill-grace", "300ms", "--quiet", cwd=tmp_path)
    [old] = wait_for_starts(tmp_path, 1, first)
    new: list[int] = []
    try:
        wait_for_ticks(tmp_path, old)
        recorded = wait_for_records(root, [old])
        assert [(g["pgid"], g["node_id"], g["attempt"]) for g in recorded] == [(old, "long", 1)]
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert group_alive(old)  # the orphan lives on after its owner died

        resumed = start_attractor("resume", "--logs-root", root, "--kill-grace", "300ms",
                                  "--quiet", cwd=tmp_path)
        new = [p for p in wait_for_starts(tmp_path, 2, resumed) if p != old]
        wait_for_ticks(tmp_path, new[0])
        assert not group_alive(old)
        ticks = tick_lines(tmp_path)
        first_new = ticks.index(str(new[0]))
        assert str(old) not in ticks[first_new:], "two copies of the stage ran at once"
        stopped = events(root, "stale_process_groups_stopped")
        assert [(g["pgid"], g["node_id"]) for g in stopped[0]["groups"]] == [(old, "long")]
        order = [e["event"] for e in events(root)]
        resumed_at = order.index("stale_process_groups_stopped")
        assert "stage_attempt_start" not in order[order.index("run_started", 1):resumed_at]
        wait_for_records(root, new)

        resumed.send_signal(signal.SIGTERM)
        code, err = exit_of(resumed)
        assert code == 3, err
        assert wait_until_gone([old, *new]) == []
        assert recorded_groups(root) == []
    finally:
        kill_groups([old, *new])


def test_status_names_the_groups_a_killed_run_left_running(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    proc = start_attractor("run", ticking_fan_out(tmp_path), "--logs-root", root,
                           "--workdir", tmp_path, "--kill-grace", "300ms", "--quiet",
                           cwd=tmp_path)
    pgids = wait_for_starts(tmp_path, 2, proc)
    try:
        wait_for_records(root, pgids)
        assert status_json(root)["stale_process_groups"] == []  # the owner is alive
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        data = status_json(root)
        assert data["state"] == "interrupted"
        stale = {(g["pgid"], g["node_id"], g["branch_key"]) for g in
                 data["stale_process_groups"]}
        assert {p for p, _, _ in stale} == set(pgids)
        assert {n for _, n, _ in stale} == {"a", "b"}
        assert all(branch for _, _, branch in stale)
        text = attractor("status", "--logs-root", root).stdout
        assert "2 process group(s) of the dead run are still running" in text
        assert all(f"pgid {p}" in text for p in pgids)

        resumed = start_attractor("resume", "--logs-root", root, "--kill-grace", "300ms",
                                  "--quiet", cwd=tmp_path)
        wait_for_starts(tmp_path, 4, resumed)
        assert not any(group_alive(p) for p in pgids)
        assert {g["pgid"] for g in events(root, "stale_process_groups_stopped")[0]["groups"]} \
            == set(pgids)
        resumed.send_signal(signal.SIGINT)
        code, err = exit_of(resumed)
        assert code == 3, err
        assert status_json(root)["stale_process_groups"] == []
    finally:
        kill_groups(started_pgids(tmp_path))


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_kills_every_group_at_once_and_the_run_still_ends(
        tmp_path: Path, signum: int, count: int) -> None:
    root = tmp_path / "logs"
    # A grace far longer than the wait below: only an escalation ends the run in time.
    proc = start_attractor("run", ticking_fan_out(tmp_path), "--logs-root", root,
                           "--workdir", tmp_path, "--kill-grace", "120s", cwd=tmp_path)
    pgids = wait_for_starts(tmp_path, 2, proc)
    try:
        wait_for_records(root, pgids)
        wait_for_ticks(tmp_path, *pgids)
        proc.send_signal(signum)
        time.sleep(0.5)
        assert proc.poll() is None  # still in its grace: the grandchildren ignore SIGTERM
        for _ in range(count - 1):
            proc.send_signal(signum)
            time.sleep(0.05)
        code, err = exit_of(proc, limit_s=60)
        assert code == 3, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        data = assert_complete_final(root)
        assert (data["status"], data["exit_path"]) == ("canceled", "canceled")
        assert data["failed_node_id"] == "par"
        assert not (root / "run.lock").exists()
        assert wait_until_gone(pgids, limit_s=5) == []
        [escalated] = events(root, "cancellation_escalated")
        assert escalated["signal"] == signal.Signals(signum).name
        assert escalated["killed_groups"] == 2
        assert recorded_groups(root) == []
    finally:
        kill_groups(pgids)


def test_a_stall_names_the_stalled_stage(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  hang [shape=parallelogram, tool_command="sleep 30"]
  start -> hang -> exit""")
    result = attractor("run", dot, "--logs-root", root, "--workdir", tmp_path, "--quiet",
                       "--stall-timeout", "600ms", "--stall-check-interval", "100ms")
    assert result.returncode == 1, result.stderr
    data = final(root)
    assert (data["exit_path"], data["failed_node_id"]) == ("watchdog_stall", "hang")
    assert events(root, "run_failed")[0]["failed_node_id"] == "hang"


def test_a_single_signal_names_the_stage_in_flight(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, """
  long [shape=parallelogram, tool_command="echo $$ > started.log; sleep 30"]
  start -> long -> exit""")
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                           "--kill-grace", "200ms", "--quiet", cwd=tmp_path)
    pgid = int(wait_for_file(tmp_path / "started.log", proc))
    try:
        proc.send_signal(signal.SIGINT)
        code, err = exit_of(proc)
        assert code == 3, err
        assert final(root)["failed_node_id"] == "long"
        assert wait_until_gone([pgid]) == []
    finally:
        kill_groups([pgid])


def test_resume_stops_a_cli_agent_a_killed_run_left_running(tmp_path: Path) -> None:
    root, work = tmp_path / "logs", tmp_path / "work"
    work.mkdir()
    dot = pipeline(tmp_path, '  agent [prompt="do it", llm_provider=anthropic, '
                             'llm_model="anthropic/model-4.5"]\n  start -> agent -> exit')
    agents = {f"ATTRACTOR_{name.upper()}_PATH": str(FAKE_CLI / name)
              for name in ("claude", "codex", "gemini")}
    command = cli_command("run", dot, "--logs-root", root, "--workdir", work, "--backend", "cli",
                          "--kill-grace", "300ms", "--quiet")
    # "stubborn": the agent CLI and its grandchild ignore SIGTERM and sleep.
    proc = subprocess.Popen(command, env={**os.environ, **agents, "FAKE_CLI_SCENARIO": "stubborn"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    agent, grandchild = (int(p) for p in wait_for_file(work / "pids", proc).split())
    try:
        assert [(g["pgid"], g["node_id"]) for g in wait_for_records(root, [agent])] == [
            (agent, "agent")]
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert group_alive(agent)
        assert [g["pgid"] for g in status_json(root)["stale_process_groups"]] == [agent]

        resumed = attractor("resume", "--logs-root", root, "--kill-grace", "300ms", "--quiet",
                            env={**agents, "FAKE_CLI_SCENARIO": "ok"}, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert not group_alive(agent)
        assert process_gone(grandchild)
        [stopped] = events(root, "stale_process_groups_stopped")
        assert [(g["pgid"], g["node_id"]) for g in stopped["groups"]] == [(agent, "agent")]
    finally:
        kill_groups([agent])


def test_resume_stops_a_sub_pipeline_stage_a_killed_run_left_running(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    child = ("digraph Child {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
             f"{ticking_stage('work')}\n  start -> work -> exit\n}}\n")
    (tmp_path / "child.dot").write_text(child)
    dot = pipeline(tmp_path, '  sub [type="subgraph", subgraph.dotfile="child.dot"]\n'
                             "  start -> sub -> exit")
    first = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                            "--run-id", "parent", "--kill-grace", "300ms", "--quiet",
                            cwd=tmp_path)
    [old] = wait_for_starts(tmp_path, 1, first)
    new: list[int] = []
    try:
        recorded = wait_for_records(root, [old])
        assert [(g["pgid"], g["run_id"], g["node_id"]) for g in recorded] == [
            (old, "parent.sub", "work")]
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert group_alive(old)

        resumed = start_attractor("resume", "--logs-root", root, "--kill-grace", "300ms",
                                  "--quiet", cwd=tmp_path)
        new = [p for p in wait_for_starts(tmp_path, 2, resumed) if p != old]
        assert not group_alive(old)
        wait_for_ticks(tmp_path, new[0])
        ticks = tick_lines(tmp_path)
        assert str(old) not in ticks[ticks.index(str(new[0])):]
        resumed.send_signal(signal.SIGINT)
        code, err = exit_of(resumed)
        assert code == 3, err
        assert wait_until_gone([old, *new]) == []
    finally:
        kill_groups([old, *new])


def test_a_reused_pgid_is_not_taken_for_a_recorded_group(tmp_path: Path) -> None:
    """A record whose leader start time does not match the live process is not ours:
    status does not list it and resume does not signal it."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, '  long [shape=parallelogram, tool_command="echo $$ >> started.log; '
                             'sleep 30"]\n  start -> long -> exit')
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                           "--kill-grace", "300ms", "--quiet", cwd=tmp_path)
    [orphan] = wait_for_starts(tmp_path, 1, proc)
    decoy = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        wait_for_records(root, [orphan])
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kill_groups([orphan])
        assert wait_until_gone([orphan]) == []
        # The record now names the decoy's pgid, as if the kernel had reused the pid.
        recorded = read_json(root / "processes.json")
        recorded["groups"][0]["pgid"] = decoy.pid
        recorded["groups"][0]["leader_start_time"] -= 1
        (root / "processes.json").write_text(json.dumps(recorded))
        assert status_json(root)["stale_process_groups"] == []
        resumed = start_attractor("resume", "--logs-root", root, "--kill-grace", "300ms",
                                  "--quiet", cwd=tmp_path)
        wait_for_starts(tmp_path, 2, resumed)
        assert events(root, "stale_process_groups_stopped") == []
        assert decoy.poll() is None
        resumed.send_signal(signal.SIGTERM)
        code, err = exit_of(resumed)
        assert code == 3, err
        assert decoy.poll() is None
    finally:
        decoy.kill()
        decoy.wait()
        kill_groups(started_pgids(tmp_path))


def test_groups_recorded_on_another_host_are_not_judged_here(tmp_path: Path) -> None:
    """processes.json names its writer's host (an executor's workers write theirs on shared
    storage): pids recorded elsewhere are neither reported nor signalled here."""
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, '  long [shape=parallelogram, tool_command="echo $$ >> started.log; '
                             'sleep 30"]\n  start -> long -> exit')
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path, "--quiet",
                           cwd=tmp_path)
    [orphan] = wait_for_starts(tmp_path, 1, proc)
    try:
        wait_for_records(root, [orphan])
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        recorded = read_json(root / "processes.json")
        assert recorded["host"] == socket.gethostname()
        assert [g["pgid"] for g in status_json(root)["stale_process_groups"]] == [orphan]
        recorded["host"] = "another-host"
        (root / "processes.json").write_text(json.dumps(recorded))
        assert status_json(root)["stale_process_groups"] == []
        assert group_alive(orphan)
    finally:
        kill_groups([orphan])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_resume_stops_leftovers_kills_them_at_once(
        tmp_path: Path, signum: int) -> None:
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, ticking_stage("long") + "\n  start -> long -> exit")
    first = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                            "--quiet", cwd=tmp_path)
    [old] = wait_for_starts(tmp_path, 1, first)
    try:
        wait_for_records(root, [old])
        wait_for_ticks(tmp_path, old)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        # The leftover ignores SIGTERM: only the escalation ends this grace in time.
        resumed = start_attractor("resume", "--logs-root", root, "--kill-grace", "120s",
                                  cwd=tmp_path)
        deadline = time.monotonic() + 60
        while not any(e["event"] == "run_started" and e.get("resumed") for e in events(root)):
            assert resumed.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        resumed.send_signal(signum)
        time.sleep(0.5)
        assert resumed.poll() is None and group_alive(old)  # in the leftover's grace
        resumed.send_signal(signum)
        code, err = exit_of(resumed, limit_s=60)
        assert code == 3, err
        assert "Traceback" not in err
        assert wait_until_gone([old]) == []
        data = assert_complete_final(root)
        assert (data["status"], data["exit_path"]) == ("canceled", "canceled")
        assert started_pgids(tmp_path) == [old]  # the stage never started again
        assert [g["pgid"] for g in events(root, "stale_process_groups_stopped")[0]["groups"]] \
            == [old]
        assert not (root / "run.lock").exists()
    finally:
        kill_groups(started_pgids(tmp_path))
