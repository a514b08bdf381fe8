"""What a branch sent to a real Dask cluster does on its worker's machine.

With git isolation each remote branch opens its own worktree of the run's repository on its
worker and commits each stage there; the parent's fan-in merges the winner exactly as for
local branches (runs through the CLI, in real repositories). A worker process killed
mid-branch leaves no process of the branch running once the run has ended."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import trio

from attractor_core.engine.dispatch import DISPATCHES
from tests.concurrency.support import gone, pids_in, results, tool, waiter
from tests.engine.support import attractor, run, start_attractor
from tests.engine.support import events as run_events
from tests.executors.test_dask_executor import Cluster, cluster, fan_out, recorded, wait_for
from tests.git.support import commits, dot, events, files_at, git, logs, make_repo, read_json

pytest.importorskip("distributed")
__all__ = ["cluster"]  # the module's LocalCluster, shared by its tests


def _fan_in(branches: list[list[str]]) -> str:
    """``start -> par -> (each branch: its tool lines in a row) -> fanin -> after -> exit``."""
    lines = ['  par [shape=component, max_parallel=0]', "  fanin [shape=tripleoctagon]",
             '  after [shape=parallelogram, tool_command="echo after > after.txt"]',
             "  start -> par", '  fanin -> after [condition="outcome=success"]', "  after -> exit"]
    for stages in branches:
        lines += stages
        ids = [line.split()[0] for line in stages]
        lines.append(f"  par -> {' -> '.join(ids)} -> fanin")
    return "\n".join(lines)


def _run(repo: Path, tmp_path: Path, body: str, spec: str) -> subprocess.CompletedProcess[str]:
    return attractor("run", dot(tmp_path, body), "--run-id", "r1", "--quiet", "--executor",
                     spec, cwd=repo, timeout=120)


def test_remote_branches_commit_in_worktrees_of_their_own_and_the_fan_in_merges_the_winner(
        tmp_path: Path, cluster: Cluster) -> None:
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    ran_on = tmp_path / "ran-on"
    branches = [[tool(f"b{i}_1", f"echo {i} > f{i}.txt; echo $PPID >> {ran_on}"),
                 tool(f"b{i}_2", f"echo more >> f{i}.txt")] for i in range(4)]
    done = _run(repo, tmp_path, _fan_in(branches), cluster.spec)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(map(int, ran_on.read_text().split())) <= cluster.worker_pids()
    root = logs(repo, "r1")
    rows = {r["branch_key"]: r for r in read_json(root / "par" / "parallel_results.json")["results"]}
    for i in range(4):
        ref = rows[f"b{i}_1"]["workspace"]["ref"]
        assert ref.startswith("attractor/branch/r1/par-p1-")
        # One commit per stage, made on the worker, with the trailers of a local branch.
        assert commits(repo, ref, head) == [f"attractor(r1): b{i}_1 (success)",
                                            f"attractor(r1): b{i}_2 (success)"]
        message = git(repo, "log", "-1", "--format=%B", ref)
        assert f"Attractor-Branch: b{i}_1" in message and "Attractor-Run: r1" in message
        assert files_at(repo, ref) == {"a.txt", f"f{i}.txt"}  # never another branch's edit
        assert git(repo, "show", f"{ref}:f{i}.txt").split() == [str(i), "more"]
        branch_dir = Path(rows[f"b{i}_1"]["logs_root"])
        opened = events(branch_dir / "executor", "branch_workspace_opened")
        assert [(e["ref"], e["base_sha"]) for e in opened] == [(ref, head)]
    # The fan-in fast-forwarded the winner (b0_1, ties broken by key), as in process.
    run_branch = "attractor/run/r1"
    assert [(e["branch_key"], e["fast_forward"]) for e in events(root, "branch_merged")] == [
        ("b0_1", True)]
    assert commits(repo, run_branch, head) == ["attractor(r1): b0_1 (success)",
                                               "attractor(r1): b0_2 (success)",
                                               "attractor(r1): after (success)"]
    assert files_at(repo, run_branch) == {"a.txt", "f0.txt", "after.txt"}
    # Every branch worktree was removed on its worker: the checkout and the run's remain.
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_remote_winner_conflicting_with_the_run_branch_fails_the_fan_in_naming_the_file(
        tmp_path: Path, cluster: Cluster) -> None:
    repo = make_repo(tmp_path)
    # Branch a also writes into the run's own worktree (escaping its isolation): the parallel
    # stage's commit and the winner both add shared.txt, differently.
    escape = ("echo from-branch > shared.txt; "
              "echo from-main > $ATTRACTOR_LOGS_ROOT/worktree/shared.txt")
    done = _run(repo, tmp_path, _fan_in([[tool("a", escape)], [tool("b", "exit 1")]]),
                cluster.spec)
    assert done.returncode == 1, done.stdout + done.stderr
    root = logs(repo, "r1")
    final = read_json(root / "final.json")
    assert (final["failed_node_id"], final["failure_class"]) == ("fanin", "deterministic")
    assert "shared.txt" in final["failure_reason"] and "conflicts" in final["failure_reason"]
    conflict = events(root, "branch_merge_conflict")
    assert [(e["branch_key"], e["files"]) for e in conflict] == [("a", ["shared.txt"])]
    worktree = root / "worktree"
    assert git(worktree, "status", "--porcelain") == ""  # the merge was aborted
    assert (worktree / "shared.txt").read_text() == "from-main\n"


def test_a_git_branch_sent_out_again_after_its_worker_died_keeps_its_committed_stages(
        tmp_path: Path, cluster: Cluster) -> None:
    cluster.worker_pids()  # both up (a test before may have killed one)
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    workers, pids, marks = tmp_path / "workers", tmp_path / "pids", tmp_path / "marks"
    marks.mkdir()
    # The second stage dies with its worker the first time, and goes on the second time.
    second = (f"if [ ! -e {marks}/first ]; then touch {marks}/first; echo $$ >> {pids}; "
              f"echo $PPID >> {workers}; exec sleep 60; fi; echo two > two.txt")
    body = _fan_in([[tool("one", "echo one > one.txt"), tool("two", second)]])
    proc = start_attractor("run", dot(tmp_path, body), "--run-id", "r1", "--quiet",
                           "--executor", cluster.spec, cwd=repo)
    try:
        [worker] = _lines_of(workers, 1)
        trio.run(recorded, logs(repo, "r1"), "one", _lines_of(pids, 1)[0])
        os.kill(worker, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    root = logs(repo, "r1")
    assert [e["dispatch"] for e in run_events(root, "branch_redispatched")] == [2]
    # The new dispatch went on from the branch's last commit: one's change is still there.
    ref = read_json(root / "par" / "parallel_results.json")["results"][0]["workspace"]["ref"]
    assert commits(repo, ref, head) == ["attractor(r1): one (success)",
                                        "attractor(r1): two (success)"]
    assert files_at(repo, ref) == {"a.txt", "one.txt", "two.txt"}
    assert files_at(repo, "attractor/run/r1") == {"a.txt", "one.txt", "two.txt", "after.txt"}
    assert trio.run(gone, pids_in(pids))


def _lines_of(path: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while len(pids_in(path)) < count:
        assert time.monotonic() < deadline, f"{path} never had {count} line(s)"
        time.sleep(0.02)
    return pids_in(path)


def _sleeps_of(run_id: str) -> list[int]:
    """The ``sleep`` processes on this machine started by a stage of run ``run_id``."""
    mark = f"ATTRACTOR_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # not a process, gone, or not ours
            continue
        if command[0].endswith(b"sleep") and mark in environment:
            found.append(int(entry.name))
    return found


async def test_a_branch_whose_every_worker_is_killed_leaves_no_process_behind(
        tmp_path: Path, cluster: Cluster) -> None:
    cluster.worker_pids()  # both up (a test before may have killed one)
    workers, pids = tmp_path / "workers", tmp_path / "pids"
    dot = fan_out(tmp_path, [tool("victim", f"echo $$ >> {pids}; echo $PPID >> {workers}; "
                                            "exec sleep 300"), tool("ok", "true")])
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        async def killer() -> None:
            # Each dispatch's worker is SIGKILLed while its sleep runs: the last one is not
            # followed by another dispatch that would stop what its worker left.
            for dispatch in range(1, DISPATCHES + 1):
                worker = (await wait_for(workers, dispatch))[-1]
                await recorded(root, "victim", (await wait_for(pids, dispatch))[-1])
                os.kill(worker, signal.SIGKILL)

        nursery.start_soon(killer)
        record = await run(dot, root, options={"executor": cluster.spec})
    victim = {r["branch_key"]: r for r in results(root)["results"]}["victim"]
    assert victim["failure_class"] == "transient_infra"
    assert victim["failure_reason"].startswith("worker tcp://")
    assert victim["failure_reason"].endswith(" lost")
    # The victim's redispatches (ok, if still starting on a killed worker, may have its own).
    assert [e["dispatch"] for e in run_events(root, "branch_redispatched")
            if e["branch_key"] == "victim"] == list(range(2, DISPATCHES + 1))
    assert len(pids_in(pids)) == DISPATCHES
    assert await gone(pids_in(pids))
    assert _sleeps_of(record.run_id) == []


async def test_a_process_that_left_its_stage_group_is_stopped_when_its_worker_dies(
        tmp_path: Path, cluster: Cluster) -> None:
    cluster.worker_pids()  # both up (a test before may have killed one)
    workers, pids, escaped = tmp_path / "workers", tmp_path / "pids", tmp_path / "escaped"
    # The first dispatch starts a sleep in a session of its own (no record names its group)
    # and is then killed with its worker; the second dispatch succeeds.
    victim = (f"if [ -f first ]; then exit 0; fi; touch first; setsid sleep 301 & "
              f"echo $! >> {escaped}; echo $$ >> {pids}; echo $PPID >> {workers}; "
              "exec sleep 300")
    dot = fan_out(tmp_path, [tool("victim", victim), tool("ok", "true")])
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        async def killer() -> None:
            [worker] = await wait_for(workers, 1)
            await recorded(root, "victim", (await wait_for(pids, 1))[0])
            os.kill(worker, signal.SIGKILL)

        nursery.start_soon(killer)
        record = await run(dot, root, options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    assert [e["dispatch"] for e in run_events(root, "branch_redispatched")
            if e["branch_key"] == "victim"] == [2]
    [stray] = pids_in(escaped)
    assert await gone([stray, *pids_in(pids)])
    assert _sleeps_of(record.run_id) == []


async def test_a_worker_killed_while_its_branch_is_being_stopped_leaves_no_process_behind(
        tmp_path: Path, cluster: Cluster) -> None:
    cluster.worker_pids()  # both up (a test before may have killed one)
    workers, pids = tmp_path / "workers", tmp_path / "pids"
    # The victim's sleep ignores SIGTERM: stopping it takes the kill grace, in which its
    # worker is killed.
    victim = f"trap '' TERM; echo $$ >> {pids}; echo $PPID >> {workers}; exec sleep 300"
    dot = fan_out(tmp_path, [tool("victim", victim), waiter("bad", pids, 1, "exit 3")],
                  "max_parallel=0, error_policy=fail_fast")
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        async def killer() -> None:
            [worker] = await wait_for(workers, 1)
            await recorded(root, "victim", (await wait_for(pids, 1))[0])
            with trio.fail_after(60):
                while not list(root.glob("parallel/par/pass-1/*-victim/executor.cancel")):
                    await trio.sleep(0.02)
            os.kill(worker, signal.SIGKILL)

        nursery.start_soon(killer)
        record = await run(dot, root, options={"executor": cluster.spec},
                           policy_overrides={"kill_grace": "2s"})
    assert record.failure_reason.startswith("fail_fast: branch bad failed")
    assert await gone(pids_in(pids))
    assert _sleeps_of(record.run_id) == []
