"""Sub-pipelines on a real Dask cluster: a ``subgraph`` stage's child run goes to a worker
process of a LocalCluster (``--executor dask://HOST:PORT``), a manager loop's child stays in
the parent. Runs through the CLI and the API, with real ``tool`` stages; which process ran a
stage is told by the ``$PPID`` its shell sees."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio

from tests.concurrency.support import gone, interrupted_when_running, pids_in, tool
from tests.engine.support import (
    attractor,
    events,
    final,
    pipeline,
    read_json,
    run,
    start_attractor,
    write,
)

pytest.importorskip("distributed")

from tests.executors.test_dask_executor import Cluster, wait_for


def child(tmp_path: Path, lines: list[str], chain: str) -> None:
    text = "\n".join(["digraph Child {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
                      *lines, f"  {chain}", "}"])
    write(tmp_path, text + "\n", "child.dot")


def parent(tmp_path: Path, attrs: str = "") -> Path:
    """``start -> sub -> exit``, ``sub`` running child.dot."""
    more = f", {attrs}" if attrs else ""
    return pipeline(tmp_path, f'  sub [type="subgraph", subgraph.dotfile="child.dot"{more}]\n'
                              "  start -> sub -> exit")


async def wait_exists(path: Path) -> None:
    with trio.fail_after(60):
        while not path.exists():
            await trio.sleep(0.05)


async def test_a_sub_pipeline_runs_on_a_worker_and_its_events_reach_the_parent(
        tmp_path: Path, cluster: Cluster) -> None:
    workers = cluster.worker_pids()
    ppid = tmp_path / "ppid"
    child(tmp_path, [tool("work", f"echo $PPID > {ppid}; echo $ATTRACTOR_RUN_ID")],
          "start -> work -> exit")
    root = tmp_path / "logs"
    record = await run(parent(tmp_path), root, options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    assert int(ppid.read_text()) in workers  # on a worker, not in this process
    child_root = root / "sub" / "child"
    assert final(child_root)["status"] == "success"
    assert final(child_root)["run_id"] == f"{record.run_id}.sub"
    assert (child_root / "work" / "status.json").is_file()
    forwarded = events(root, "child_run_event")
    assert {e["child_run_id"] for e in forwarded} == {f"{record.run_id}.sub"}
    kinds = [e["child_event"]["event"] for e in forwarded]
    assert "stage_attempt_start" in kinds and kinds[-1] == "run_completed"
    # The forwarded events are the child's own, in its order.
    assert [e["child_event"] for e in forwarded] == events(child_root)
    assert read_json(root / "sub" / "status.json")["outcome"] == "success"


async def test_a_manager_loop_child_stays_in_the_parent(tmp_path: Path,
                                                        cluster: Cluster) -> None:
    ppid = tmp_path / "ppid"
    child(tmp_path, [tool("work", f"echo $PPID > {ppid}")], "start -> work -> exit")
    dot = pipeline(tmp_path, '  mgr [shape=house, manager.poll_interval="50ms", '
                             'stack.child_dotfile="child.dot"]\n  start -> mgr -> exit')
    record = await run(dot, tmp_path / "logs", options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    assert int(ppid.read_text()) == os.getpid()  # its supervisor reads its memory


async def test_a_hung_remote_child_is_caught_by_the_watchdog(tmp_path: Path,
                                                             cluster: Cluster) -> None:
    cluster.warm()
    pids = tmp_path / "pids"
    busy = "for i in $(seq 1 30); do echo $i; sleep 0.1; done"  # longer than stall_timeout
    child(tmp_path, [tool("busy", busy), tool("hung", f"echo $$ >> {pids}; exec sleep 60")],
          "start -> busy -> hung -> exit")
    root = tmp_path / "logs"
    record = await run(parent(tmp_path), root, options={"executor": cluster.spec},
                       policy_overrides={"stall_timeout": "2s", "stall_check_interval": "100ms",
                                         "heartbeat_interval": "100ms"})
    assert (record.status, record.exit_path) == ("fail", "watchdog_stall"), record
    child_root = root / "sub" / "child"
    # busy's heartbeats reached the parent's watchdog; hung's silence did too.
    assert read_json(child_root / "checkpoint.json")["completed_nodes"][-1] == "busy"
    assert final(child_root)["status"] == "canceled"
    assert await gone(pids_in(pids))  # the remote sleep was stopped with its child


async def test_sigint_cancels_the_remote_child_and_leaves_no_process(
        tmp_path: Path, cluster: Cluster) -> None:
    pids = tmp_path / "pids"
    child(tmp_path, [tool("slow", f"echo $$ >> {pids}; echo $PPID >> {pids}.ppid; "
                                  "exec sleep 60")], "start -> slow -> exit")
    root = tmp_path / "logs"
    proc = start_attractor("run", parent(tmp_path), "--logs-root", root, "--quiet",
                           "--executor", cluster.spec, cwd=tmp_path)
    code, child_pids = await interrupted_when_running(proc, pids, 1)
    assert code == 3
    assert final(root)["status"] == "canceled"
    assert final(root / "sub" / "child")["status"] == "canceled"
    assert int((tmp_path / "pids.ppid").read_text()) in cluster.worker_pids()
    assert await gone(child_pids)


async def test_a_worker_killed_mid_child_fails_the_stage_transient_and_the_retry_runs(
        tmp_path: Path, cluster: Cluster) -> None:
    workers, pids, ran = tmp_path / "workers", tmp_path / "pids", tmp_path / "ran"
    first = tmp_path / "first"
    victim = (f"echo victim >> {ran}; if [ -f {first} ]; then exit 0; fi; touch {first}; "
              f"echo $$ >> {pids}; echo $PPID >> {workers}; exec sleep 60")
    child(tmp_path, [tool("victim", victim)], "start -> victim -> exit")
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        async def killer() -> None:
            os.kill((await wait_for(workers, 1))[0], signal.SIGKILL)
        nursery.start_soon(killer)
        record = await run(parent(tmp_path, "max_retries=1"), root,
                           options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    attempts = [e for e in events(root, "stage_attempt_end") if e["node_id"] == "sub"]
    assert [(e["node_id"], e["attempt"], e["status"]) for e in attempts] == [
        ("sub", 1, "fail"), ("sub", 2, "success")]
    lost = attempts[0]
    assert lost["failure_class"] == "transient_infra"
    assert lost["failure_reason"].startswith(f"child pipeline {record.run_id}.sub fail: "
                                             "worker tcp://")
    assert lost["failure_reason"].endswith(" lost")
    assert ran.read_text().split() == ["victim", "victim"]
    lost_child = final(root / "sub" / "attempt-1" / "child")  # the first attempt's child
    assert (lost_child["status"], lost_child["exit_path"]) == ("fail", "executor_lost")
    assert lost_child["failure_reason"] == lost["failure_reason"].split(" fail: ")[1]
    assert final(root / "sub" / "child")["status"] == "success"  # the retry's, afresh
    assert await gone(pids_in(pids))  # the dead worker's sleep was stopped


async def test_resume_after_the_parent_is_killed_continues_the_child(
        tmp_path: Path, cluster: Cluster) -> None:
    pids, ran, again, first = (tmp_path / n for n in ("pids", "ran", "again", "first"))
    slow = (f"echo slow >> {ran}; if [ -f {first} ]; then echo $PPID > {again}; exit 0; fi; "
            f"touch {first}; echo $$ >> {pids}; exec sleep 60")
    child(tmp_path, [tool("a", f"echo a >> {ran}"), tool("slow", slow)],
          "start -> a -> slow -> exit")
    root = tmp_path / "logs"
    proc = start_attractor("run", parent(tmp_path), "--logs-root", root, "--quiet",
                           "--executor", cluster.spec, cwd=tmp_path)
    try:
        started = await wait_for(pids, 1)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert await gone(started)  # the worker stopped the child once its client was gone
    child_root = root / "sub" / "child"
    await wait_exists(child_root / "final.json")
    assert final(child_root)["status"] == "canceled"
    done = attractor("resume", "--logs-root", root, "--quiet", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert final(root)["status"] == "success"
    assert final(child_root)["status"] == "success"
    assert ran.read_text().split() == ["a", "slow", "slow"]  # continued after a
    assert int(again.read_text()) in cluster.worker_pids()
