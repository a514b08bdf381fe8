"""Spec §4.10: the tool handler runs tool_command and reports its exit."""

from __future__ import annotations

import functools
import json
import os
import time

import pytest
import trio
import trio.testing

from attractor_core.model import StageStatus
from attractor_core.process_group import run_in_group
from attractor_handlers.tool import OUTPUT_LIMIT

from .helpers import run_node, survivors, wait_for_lines


def tool_graph(command: str, node_attrs: str = "") -> str:
    escaped = command.replace("\\", "\\\\").replace('"', '\\"')
    return f'digraph g {{ t [shape=parallelogram, tool_command="{escaped}" {node_attrs}] }}'


async def test_exit_zero_is_success_with_output_in_context_and_log_files(make_run):
    run = make_run("t")
    outcome = await run_node(tool_graph("echo hello; echo oops >&2"), "t", run)
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.context_updates["tool.output"] == "hello\n"
    assert outcome.context_updates["tool.exit_code"] == 0
    assert (run.stage_dir / "stdout.log").read_text() == "hello\n"
    assert (run.stage_dir / "stderr.log").read_text() == "oops\n"
    invocation = json.loads((run.stage_dir / "tool_invocation.json").read_text())
    assert invocation["exit_code"] == 0 and invocation["command"].startswith("echo hello")


async def test_runs_in_workdir_with_the_attractor_environment(make_run):
    run = make_run("t", attempt=2)
    command = (
        'pwd; echo "$ATTRACTOR_RUN_ID|$ATTRACTOR_NODE_ID|$ATTRACTOR_ATTEMPT"; '
        'echo "$ATTRACTOR_STAGE_DIR|$ATTRACTOR_STATUS_PATH|$ATTRACTOR_LOGS_ROOT"'
    )
    outcome = await run_node(tool_graph(command), "t", run)
    pwd, ids, paths = outcome.context_updates["tool.output"].splitlines()
    assert os.path.samefile(pwd, run.workdir)
    assert ids == "test-run|t|2"
    assert paths == f"{run.stage_dir}|{run.stage_dir / 'status.json'}|{run.logs_root}"


async def test_nonzero_exit_fails_with_last_stderr_line(make_run):
    run = make_run("t")
    command = "echo noise >&2; echo 'error: disk full' >&2; echo '   ' >&2; exit 3"
    outcome = await run_node(tool_graph(command), "t", run)
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_reason == "error: disk full"
    assert outcome.context_updates["tool.exit_code"] == 3


async def test_nonzero_exit_without_stderr_names_the_exit_code(make_run):
    outcome = await run_node(tool_graph("echo partial; exit 7"), "t", make_run("t"))
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_reason == "exit code 7"
    assert outcome.context_updates["tool.output"] == "partial\n"


async def test_missing_tool_command_is_a_deterministic_failure_naming_the_node(make_run):
    outcome = await run_node("digraph g { t [shape=parallelogram] }", "t", make_run("t"))
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_class == "deterministic"
    assert "node t" in outcome.failure_reason and "tool_command" in outcome.failure_reason


async def test_missing_workdir_fails_with_a_clear_reason(make_run, tmp_path):
    run = make_run("t")
    run.workdir = tmp_path / "does-not-exist"
    outcome = await run_node(tool_graph("true"), "t", run)
    assert outcome.status is StageStatus.FAIL
    assert "workdir" in outcome.failure_reason and "does-not-exist" in outcome.failure_reason


async def test_large_stdout_is_truncated_in_context_but_complete_on_disk(make_run):
    run = make_run("t")
    size = OUTPUT_LIMIT * 3
    outcome = await run_node(tool_graph(f"yes abcdefg | head -c {size}"), "t", run)
    output = outcome.context_updates["tool.output"]
    assert output.startswith("abcdefg\n" * (OUTPUT_LIMIT // 8))
    assert f"truncated: {size} bytes in total" in output
    assert len(output) < OUTPUT_LIMIT + 200
    assert (run.stage_dir / "stdout.log").stat().st_size == size


async def test_stdin_is_empty_so_a_reading_tool_never_waits_for_the_terminal(make_run):
    outcome = await run_node(tool_graph('read line; echo "got:[$line]"'), "t", make_run("t"))
    assert outcome.context_updates["tool.output"] == "got:[]\n"


async def test_background_children_are_killed_after_a_normal_exit(make_run):
    run = make_run("t")
    outcome = await run_node(tool_graph("sleep 300 & echo $! > bg.pid; exit 0"), "t", run)
    assert outcome.status is StageStatus.SUCCESS
    [pid] = await wait_for_lines(run.workdir / "bg.pid", 1)
    assert await survivors([pid]) == []


async def test_cancellation_kills_the_whole_process_group_and_propagates(make_run):
    run = make_run("t", options={"kill_grace": 0.5})
    command = "echo $$ > pids; sleep 300 & echo $! >> pids; sleep 300 & echo $! >> pids; wait"
    finished = []
    async with trio.open_nursery() as nursery:
        async def execute() -> None:
            finished.append(await run_node(tool_graph(command), "t", run))
        nursery.start_soon(execute)
        pids = await wait_for_lines(run.workdir / "pids", 3)
        nursery.cancel_scope.cancel()
    assert finished == []  # Cancelled propagated: no outcome was returned
    assert await survivors(pids) == []


async def test_cancellation_sends_sigterm_first_so_the_tool_can_clean_up(make_run):
    run = make_run("t", options={"kill_grace": 10})
    command = "trap 'echo cleaned > cleaned.txt; exit 0' TERM; echo $$ > pids; sleep 300 & wait"
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_node, tool_graph(command), "t", run)
            [pid] = await wait_for_lines(run.workdir / "pids", 1)
            scope.cancel()
    assert (run.workdir / "cleaned.txt").read_text() == "cleaned\n"
    assert await survivors([pid]) == []


@pytest.mark.parametrize(
    "command",
    [
        # the leader itself ignores SIGTERM (and its child inherits that)
        "trap '' TERM; echo $$ > pids; sleep 300 & echo $! >> pids; wait",
        # the leader dies on SIGTERM but leaves a member that ignores it
        "echo $$ > pids; (trap '' TERM; exec sleep 300) & echo $! >> pids; wait",
    ],
    ids=["leader-ignores-term", "member-outlives-leader"],
)
async def test_processes_ignoring_sigterm_are_killed_after_the_grace_period(make_run, command):
    run = make_run("t", options={"kill_grace": "200ms"})
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_node, tool_graph(command), "t", run)
            pids = await wait_for_lines(run.workdir / "pids", 2)
            scope.cancel()
    assert await survivors(pids) == []


async def test_a_cancel_landing_before_the_spawn_is_reported_still_kills_the_group(tmp_path):
    """The cancellation lands after the shell started but before the task that spawned it
    ran again (a busy event loop): the group must still get SIGTERM, grace, SIGKILL."""
    command = "echo $$ > pids; (trap '' TERM; exec sleep 300) & echo $! >> pids; wait"
    with (tmp_path / "out").open("wb") as out, trio.CancelScope() as scope:
        async def block_the_loop_then_cancel() -> None:
            # Once the spawn waits for its worker thread, block the whole event loop while
            # the shell starts, so the spawning task has not run again when we cancel.
            await trio.testing.wait_all_tasks_blocked()
            deadline = time.monotonic() + 10
            while len((tmp_path / "pids").read_text().split()
                      if (tmp_path / "pids").exists() else []) < 2:
                assert time.monotonic() < deadline, "the tool never started"
                time.sleep(0.01)
            time.sleep(0.1)  # the member has ignored SIGTERM by now
            scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(
                run_in_group, command, cwd=tmp_path, env=dict(os.environ), stdout=out,
                stderr=out, kill_grace=0.2))
            nursery.start_soon(block_the_loop_then_cancel)
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert await survivors(pids) == []


async def test_tool_shell_runs_the_command_with_the_named_shell(make_run):
    run = make_run("t")
    shell = run.workdir / "recording-shell"
    shell.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    shell.chmod(0o755)
    outcome = await run_node(tool_graph("echo hi", f', tool_shell="{shell}"'), "t", run)
    assert outcome.context_updates["tool.output"] == "-c|echo hi|"


async def test_graph_tool_shell_applies_to_every_tool_node(make_run):
    command = "true | false; echo ${PIPESTATUS[0]}"  # bash only
    dot = f"""digraph g {{ graph [tool_shell=bash]
      t [shape=parallelogram, tool_command="{command}"] }}"""
    outcome = await run_node(dot, "t", make_run("t"))
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.context_updates["tool.output"] == "0\n"


async def test_a_shell_that_does_not_exist_fails_naming_it(make_run):
    dot = tool_graph("true", ', tool_shell="/no/such/shell"')
    outcome = await run_node(dot, "t", make_run("t"))
    assert outcome.status is StageStatus.FAIL
    assert "/no/such/shell" in outcome.failure_reason
