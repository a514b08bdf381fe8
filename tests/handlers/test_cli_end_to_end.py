"""The built-in handlers driven by the real engine through the ``attractor run`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import trio

from .helpers import survivors, wait_for_lines

CLI = [sys.executable, "-m", "attractor_core"]


def run_command(tmp_path: Path, dot: str, *options: str) -> tuple[list[str], Path]:
    """Write ``dot`` and build the ``attractor run`` command line; returns it and the logs root."""
    (tmp_path / "pipeline.dot").write_text(dot)
    logs, work = tmp_path / "logs", tmp_path / "work"
    work.mkdir(exist_ok=True)
    command = [*CLI, "run", str(tmp_path / "pipeline.dot"), "--logs-root", str(logs),
               "--workdir", str(work), "--run-id", "e2e-run", "--quiet", *options]
    return command, logs


async def attractor_run(
    dot: str, tmp_path: Path, *options: str, stdin: bytes | int = b""
) -> tuple[subprocess.CompletedProcess[bytes], Path]:
    """Run ``dot`` with the CLI to its end; ``stdin`` is input bytes or a file descriptor."""
    command, logs = run_command(tmp_path, dot, *options)
    done = await trio.run_process(command, stdin=stdin, capture_stdout=True,
                                  capture_stderr=True, check=False)
    return done, logs


def final(logs: Path) -> dict:
    return json.loads((logs / "final.json").read_text())


def events(logs: Path, name: str) -> list[dict]:
    lines = (logs / "progress.ndjson").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


TOOL_PIPELINE = """digraph tools {
  start [shape=Mdiamond]; done [shape=Msquare]
  probe [shape=parallelogram, tool_command="sh probe.sh"]
  repair [shape=parallelogram, tool_command="echo repaired"]
  start -> probe
  probe -> done [condition="outcome=success"]
  probe -> repair [condition="outcome=fail"]
  repair -> done
}"""

# Records the environment contract, then reports failure through the
# status file while exiting 0: the file must win.
PROBE_SCRIPT = """env | grep '^ATTRACTOR_' | sort > env.txt
pwd >> env.txt
printf '{"outcome": "fail", "failure_reason": "verdict from status file"}' \
  > "$ATTRACTOR_STATUS_PATH"
"""


async def test_tool_gets_the_env_contract_and_its_status_file_overrides_exit_zero(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "probe.sh").write_text(PROBE_SCRIPT)
    done, logs = await attractor_run(TOOL_PIPELINE, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert final(logs)["completed_nodes"] == ["start", "probe", "repair", "done"]
    status = json.loads((logs / "probe" / "status.json").read_text())
    assert status["outcome"] == "fail" and status["failure_reason"] == "verdict from status file"
    assert status["context_updates"]["tool.exit_code"] == 0
    *env_lines, pwd = (tmp_path / "work" / "env.txt").read_text().splitlines()
    env = dict(line.split("=", 1) for line in env_lines)
    assert env["ATTRACTOR_RUN_ID"] == "e2e-run"
    assert env["ATTRACTOR_NODE_ID"] == "probe" and env["ATTRACTOR_ATTEMPT"] == "1"
    assert Path(env["ATTRACTOR_STAGE_DIR"]) == logs / "probe"
    assert Path(env["ATTRACTOR_STATUS_PATH"]) == logs / "probe" / "status.json"
    assert Path(env["ATTRACTOR_LOGS_ROOT"]) == logs
    assert Path(env["ATTRACTOR_WORKDIR"]) == Path(pwd) == tmp_path / "work"


async def test_stage_timeout_kills_the_tool_process_group(tmp_path):
    dot = r"""digraph slow {
      start [shape=Mdiamond]; done [shape=Msquare]
      hang [shape=parallelogram, timeout="1s",
            tool_command="echo $$ > pids; sleep 300 & echo $! >> pids; wait"]
      start -> hang -> done
    }"""
    done, logs = await attractor_run(dot, tmp_path, "--kill-grace", "200ms")
    assert done.returncode == 1
    record = final(logs)
    assert record["failed_node_id"] == "hang" and "timeout" in record["failure_reason"]
    pids = await wait_for_lines(tmp_path / "work" / "pids", 2)
    assert await survivors(pids) == []


GATE_PIPELINE = """digraph gate {
  start [shape=Mdiamond]; done [shape=Msquare]
  review [shape=hexagon, label="Ship it?" %s]
  ship [shape=parallelogram, tool_command="echo shipped"]
  rework [shape=parallelogram, tool_command="echo reworked"]
  start -> review
  review -> ship [label="[S] Ship"]
  review -> rework [label="[R] Rework"]
  ship -> done
  rework -> done
}"""


async def test_queue_interviewer_picks_the_second_option(tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("R\n")
    done, logs = await attractor_run(GATE_PIPELINE % "", tmp_path, "--interviewer",
                                     f"queue:{answers}")
    assert done.returncode == 0, done.stderr.decode()
    assert final(logs)["completed_nodes"] == ["start", "review", "rework", "done"]
    [started] = events(logs, "interview_started")
    assert started["options"] == ["[S] Ship", "[R] Rework"]
    [completed] = events(logs, "interview_completed")
    assert completed["answer"] == "[R] Rework"
    checkpoint = json.loads((logs / "checkpoint.json").read_text())
    assert checkpoint["context"]["human.gate.selected"] == "R"


async def test_console_interviewer_reads_the_answer_from_stdin_after_prompting(tmp_path):
    command, logs = run_command(tmp_path, GATE_PIPELINE % "", "--interviewer", "console")
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    shown = b""
    with trio.fail_after(60):
        while b"Select: " not in shown:
            shown += await process.stderr.receive_some(4096)
        await process.stdin.send_all(b"rework\n")
        await process.stdin.aclose()
        assert await process.wait() == 0
    assert b"[?] Ship it?" in shown and b"  [R] Rework\n" in shown and b"[R] [R]" not in shown
    assert final(logs)["completed_nodes"] == ["start", "review", "rework", "done"]


async def test_gate_timeout_takes_the_default_even_under_the_engine_stage_timeout(tmp_path):
    gate = GATE_PIPELINE % ', timeout="1s", human.default_choice="rework"'
    # The console waits on a stdin that never answers and never closes.
    read_fd, write_fd = os.pipe()
    try:
        done, logs = await attractor_run(gate, tmp_path, "--interviewer", "console", stdin=read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert done.returncode == 0, done.stderr.decode()
    assert final(logs)["completed_nodes"] == ["start", "review", "rework", "done"]
    [timeout] = events(logs, "interview_timeout")
    assert timeout["default_choice"] == "rework"


async def test_simulated_failures_are_retried_until_the_scripted_success(tmp_path):
    dot = """digraph retry {
      start [shape=Mdiamond]; done [shape=Msquare]
      flaky [shape=box, max_retries=2, sim.outcome="fail,fail,success",
             sim.failure_class="transient_infra", sim.failure_reason="rate limited"]
      start -> flaky -> done
    }"""
    done, logs = await attractor_run(dot, tmp_path, "--backend", "simulate")
    assert done.returncode == 0, done.stderr.decode()
    attempts = [e for e in events(logs, "stage_attempt_end") if e["node_id"] == "flaky"]
    assert [(e["attempt"], e["status"]) for e in attempts] == [
        (1, "fail"), (2, "fail"), (3, "success"),
    ]
    assert attempts[0]["failure_reason"] == "rate limited"
    assert json.loads((logs / "flaky" / "status.json").read_text())["outcome"] == "success"
    assert (logs / "flaky" / "prompt.md").read_text() == "flaky"


async def test_a_diamond_passes_the_failure_on_and_is_never_blamed_for_it(tmp_path):
    dot = """digraph blame {
      start [shape=Mdiamond]; done [shape=Msquare]
      build [shape=parallelogram, tool_command="echo 'compile error in main.c' >&2; exit 2"]
      check [shape=diamond]
      start -> build -> check
      check -> done [condition="outcome=success"]
    }"""
    done, logs = await attractor_run(dot, tmp_path)
    assert done.returncode == 1
    record = final(logs)
    assert record["failed_node_id"] == "build"
    assert record["failure_reason"] == "compile error in main.c"
    check_status = json.loads((logs / "check" / "status.json").read_text())
    assert check_status["outcome"] == "fail"
    assert check_status["failed_node_id"] == "build"


async def test_a_resumed_run_continues_the_answer_queue_after_a_crash(tmp_path):
    dot = """digraph crashy {
      start [shape=Mdiamond]; done [shape=Msquare]
      first [shape=hexagon, label="First?"]
      crash [shape=parallelogram,
             tool_command="[ -f crashed ] || { touch crashed; kill -KILL $PPID; sleep 30; }"]
      second [shape=hexagon, label="Second?"]
      a1 [shape=parallelogram, tool_command="true"]; b1 [shape=parallelogram, tool_command="true"]
      a2 [shape=parallelogram, tool_command="true"]; b2 [shape=parallelogram, tool_command="true"]
      start -> first
      first -> a1 [label="[A] A"]; first -> b1 [label="[B] B"]
      a1 -> crash; b1 -> crash
      crash -> second
      second -> a2 [label="[A] A"]; second -> b2 [label="[B] B"]
      a2 -> done; b2 -> done
    }"""
    answers = tmp_path / "answers.txt"
    answers.write_text("B\nA\n")
    crashed, logs = await attractor_run(dot, tmp_path, "--interviewer", f"queue:{answers}")
    assert crashed.returncode < 0  # the tool killed the runner: a crash, not a failure
    resume = [*CLI, "resume", "--logs-root", str(logs), "--quiet",
              "--interviewer", f"queue:{answers}"]
    done = await trio.run_process(resume, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    completed = final(logs)["completed_nodes"]
    assert "b1" in completed and "a2" in completed  # the second gate got the second line
    assert "a1" not in completed and "b2" not in completed
