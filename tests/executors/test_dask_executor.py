"""Parallel branches on a real Dask cluster (``--executor dask://HOST:PORT``): two worker
processes of a LocalCluster started by this module, runs through the CLI and the API.

Every branch is a real ``tool`` stage; which process ran it is told by the ``$PPID`` its
shell sees (the worker process that started it)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.concurrency.support import (
    gone,
    interrupted_when_running,
    pids_in,
    results,
    sleeper,
    statuses,
    tool,
    waiter,
)
from tests.engine.support import attractor, events, final, pipeline, run, start_attractor

distributed = pytest.importorskip("distributed")


class Cluster:
    def __init__(self, cluster: Any, client: Any):
        self.cluster, self.client = cluster, client
        self.spec = "dask://" + cluster.scheduler_address.removeprefix("tcp://")

    def worker_pids(self) -> set[int]:
        self.client.wait_for_workers(2, timeout=60)
        return set(self.client.run(os.getpid).values())

    def warm(self) -> None:
        """Both workers up, with the engine imported and the plugins loaded, as after their
        first unit: a cold worker's start (seconds on a loaded host) would count against a
        test's short stall timeout."""
        self.worker_pids()
        self.client.run(_warm_up)


def _warm_up() -> None:
    from attractor_core.plugins import make_plugin_manager
    from attractor_core.sdk import run_branch_work, run_child_work

    assert run_branch_work is not None and run_child_work is not None
    assert make_plugin_manager() is not None


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    import dask

    # As dask-local does: a dead worker fails its task at once, the engine sends it again.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=16, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(local, set_as_default=False)
    yield Cluster(local, client)
    client.close()
    local.close()


def fan_out(tmp_path: Path, branches: list[str], attrs: str = "max_parallel=0") -> Path:
    """``start -> par -> (each branch) -> join -> exit``; ``branches`` are tool lines."""
    ids = [line.split()[0] for line in branches]
    body = [f"  par [shape=component, {attrs}]", "  join [shape=tripleoctagon]", *branches,
            "  start -> par", *(f"  par -> {i} -> join" for i in ids), "  join -> exit"]
    return pipeline(tmp_path, "\n".join(body))


async def wait_ended(root: Path, keys: set[str]) -> None:
    """Until the parent has the results of these branches (recorded before they return)."""
    with trio.fail_after(60):
        while not keys <= {e["branch_key"] for e in _events_so_far(root)
                           if e["event"] == "parallel_branch_completed"}:
            await trio.sleep(0.05)


def _events_so_far(root: Path) -> list[dict[str, Any]]:
    try:
        return events(root)
    except (OSError, ValueError):  # not there yet, or a line being written
        return []


async def wait_for(path: Path, count: int) -> list[int]:
    with trio.fail_after(60):
        while len(pids_in(path)) < count:
            await trio.sleep(0.02)
    return pids_in(path)


async def recorded(root: Path, key: str, pgid: int) -> None:
    """Until the worker of branch ``key`` has recorded process group ``pgid`` (it does so the
    moment the group exists; a worker killed in between cannot have told anyone about it)."""
    with trio.fail_after(60):
        while True:
            for path in root.glob(f"parallel/par/pass-1/*-{key}/executor/processes.json"):
                with contextlib.suppress(OSError, ValueError):
                    if pgid in [g["pgid"] for g in json.loads(path.read_text())["groups"]]:
                        return
            await trio.sleep(0.02)


async def test_twenty_branches_each_run_once_spread_over_the_workers(
        tmp_path: Path, cluster: Cluster) -> None:
    workers = cluster.worker_pids()  # both up (a test before may have killed one)
    ran = tmp_path / "ran.txt"
    dot = fan_out(tmp_path, [tool(f"b{i}", f"echo b{i} $PPID >> {ran}; sleep 0.3")
                             for i in range(20)])
    root = tmp_path / "logs"
    record = await run(dot, root, options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    entries = [line.split() for line in ran.read_text().splitlines()]
    assert sorted(key for key, _ in entries) == sorted(f"b{i}" for i in range(20))
    assert {int(pid) for _, pid in entries} == workers  # both workers, never this process
    assert set(statuses(root).values()) == {"success"}
    # The branches' own events are in their directories, their results in the run's.
    branch = next((root / "parallel" / "par" / "pass-1").glob("*-b0"))
    assert [e["node_id"] for e in events(branch / "executor", "stage_attempt_start")] == ["b0"]


async def test_a_hung_remote_branch_is_caught_by_the_watchdog_while_a_sibling_progresses(
        tmp_path: Path, cluster: Cluster) -> None:
    cluster.warm()
    pids = tmp_path / "pids"
    busy = "for i in $(seq 1 40); do echo $i; sleep 0.1; done"
    dot = fan_out(tmp_path, [tool("hung", f"echo $$ >> {pids}; exec sleep 60"),
                             tool("busy", busy)])
    root = tmp_path / "logs"
    record = await run(dot, root, options={"executor": cluster.spec}, policy_overrides={
        "stall_timeout": "2s", "stall_check_interval": "100ms", "heartbeat_interval": "100ms"})
    assert record.status == "success", record.failure_reason  # the fan-in took busy
    assert [e["branch_key"] for e in events(root, "branch_stalled")] == ["hung"]
    result = {r["branch_key"]: r for r in results(root)["results"]}
    assert result["busy"]["status"] == "success"
    assert result["hung"]["failure_class"] == "transient_infra"
    assert result["hung"]["failure_reason"].startswith("branch hung stalled: no progress for")
    assert await gone(pids_in(pids))  # the remote sleep was stopped with its branch


async def test_sigint_cancels_remote_branches_and_leaves_no_process(
        tmp_path: Path, cluster: Cluster) -> None:
    pids = tmp_path / "pids"
    dot = fan_out(tmp_path, [tool(k, f"echo $$ >> {pids}; exec sleep 60") for k in "abc"])
    root = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", root, "--quiet",
                           "--executor", cluster.spec, cwd=tmp_path)
    code, branch_pids = await interrupted_when_running(proc, pids, 3)
    assert code == 3
    assert final(root)["status"] == "canceled"
    assert await gone(branch_pids)


async def test_fail_fast_stops_the_remote_siblings_and_their_processes(
        tmp_path: Path, cluster: Cluster) -> None:
    pids = tmp_path / "pids"
    dot = fan_out(tmp_path, [waiter("bad", pids, 2, "echo broken >&2; exit 3"),
                             sleeper("slow", pids), sleeper("slow2", pids)],
                  "max_parallel=0, error_policy=fail_fast")
    root = tmp_path / "logs"
    record = await run(dot, root, options={"executor": cluster.spec})
    assert record.failure_reason == "fail_fast: branch bad failed: broken"
    assert statuses(root) == {"bad": "fail", "slow": "canceled", "slow2": "canceled"}
    assert await gone(pids_in(pids))


async def test_a_worker_killed_mid_branch_sends_the_branch_out_again(
        tmp_path: Path, cluster: Cluster) -> None:
    workers, pids, ran = tmp_path / "workers", tmp_path / "pids", tmp_path / "ran"
    victim = (f"echo victim >> {ran}; if [ -f first ]; then exit 0; fi; touch first; "
              f"echo $$ >> {pids}; echo $PPID >> {workers}; exec sleep 60")
    dot = fan_out(tmp_path, [tool("victim", victim),
                             *(tool(k, f"echo {k} >> {ran}; sleep 1") for k in "ab")])
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        async def killer() -> None:
            worker = (await wait_for(workers, 1))[0]
            await recorded(root, "victim", (await wait_for(pids, 1))[0])
            os.kill(worker, signal.SIGKILL)
        nursery.start_soon(killer)
        record = await run(dot, root, options={"executor": cluster.spec})
    assert record.status == "success", record.failure_reason
    # Every branch that was on the dead worker (the victim, maybe a or b) went out again.
    again = events(root, "branch_redispatched")
    assert {(e["branch_key"], e["dispatch"]) for e in again} >= {("victim", 2)}
    assert len({e["reason"] for e in again}) == 1
    assert again[0]["reason"].startswith("worker tcp://") and again[0]["reason"].endswith(" lost")
    runs = ran.read_text().split()
    assert runs.count("victim") == 2
    for key in ("a", "b"):  # at most once per dispatch (one lost may not have started yet)
        assert 1 <= runs.count(key) <= 1 + sum(e["branch_key"] == key for e in again), runs
    assert await gone(pids_in(pids))  # the dead worker's sleep was stopped before the rerun


async def test_resume_after_the_parent_is_killed(tmp_path: Path, cluster: Cluster) -> None:
    pids, ran, again = tmp_path / "pids", tmp_path / "ran", tmp_path / "again"
    slow = (f"echo slow >> {ran}; if [ -f first ]; then echo $PPID > {again}; exit 0; fi; "
            f"touch first; echo $$ >> {pids}; exec sleep 60")
    dot = fan_out(tmp_path, [tool("slow", slow),
                             *(tool(k, f"echo {k} >> {ran}; echo $$ >> {pids}") for k in "ab")])
    root = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", root, "--quiet",
                           "--executor", cluster.spec, cwd=tmp_path)
    try:
        first = await wait_for(pids, 3)
        await wait_ended(root, {"a", "b"})
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert await gone(first)  # the worker stopped the slow branch once its client was gone
    done = attractor("resume", "--logs-root", root, "--quiet", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert final(root)["status"] == "success"
    assert sorted(ran.read_text().split()) == ["a", "b", "slow", "slow"]
    # The resume used the run's executor again (from the manifest): slow ran on a worker.
    assert int(again.read_text()) in cluster.worker_pids()


def test_an_unreachable_scheduler_is_exit_2_and_nothing_runs(tmp_path: Path) -> None:
    dot = fan_out(tmp_path, [tool("a", "touch ran")])
    done = attractor("run", dot, "--logs-root", tmp_path / "logs", "--executor",
                     "dask://127.0.0.1:9", cwd=tmp_path,
                     env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "logs").exists() and not (tmp_path / "ran").exists()


# A cluster of its own in a process of its own, so that the test can kill its scheduler.
OWN_CLUSTER = """
import logging, time, distributed
cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=4, processes=False,
                                   protocol="tcp", dashboard_address=":0",
                                   silence_logs=logging.ERROR)
print(cluster.scheduler_address.removeprefix("tcp://"), flush=True)
time.sleep(600)
"""


def own_cluster() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", OWN_CLUSTER], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, "dask://" + proc.stdout.readline().strip()


async def test_a_lost_scheduler_ends_the_run_executor_lost_and_resume_finishes_it(
        tmp_path: Path) -> None:
    pids, ran = tmp_path / "pids", tmp_path / "ran"
    slow = (f"echo slow >> {ran}; if [ -f first ]; then exit 0; fi; touch first; "
            f"echo $$ >> {pids}; exec sleep 60")
    dot = fan_out(tmp_path, [tool("slow", slow), tool("a", f"echo a >> {ran}")])
    root = tmp_path / "logs"
    scheduler, spec = own_cluster()
    try:
        proc = start_attractor("run", dot, "--logs-root", root, "--quiet", "--executor", spec,
                               cwd=tmp_path)
        first = await wait_for(pids, 1)
        await wait_ended(root, {"a"})
        scheduler.kill()
        code = await trio.to_thread.run_sync(lambda: proc.wait(timeout=60))
        _, err = proc.communicate()
    finally:
        scheduler.kill()
        scheduler.wait()
    assert code == 1, err
    ended = final(root)
    assert (ended["status"], ended["exit_path"], ended["failure_class"]) == (
        "fail", "executor_lost", "transient_infra"), ended
    assert ended["failure_reason"].startswith(f"executor lost: the Dask scheduler of {spec}")
    assert "Traceback" not in err
    scheduler, spec = own_cluster()  # a new cluster; the run continues there
    try:
        done = attractor("resume", "--logs-root", root, "--quiet", "--executor", spec,
                         cwd=tmp_path, timeout=120)
    finally:
        scheduler.kill()
        scheduler.wait()
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(ran.read_text().split()) == ["a", "slow", "slow"]
    assert await gone(first)  # stopped by the resumed branch: its worker was gone
