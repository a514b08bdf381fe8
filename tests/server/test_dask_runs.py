"""Whole runs on a Dask cluster: ``attractor serve --executor dask://HOST:PORT`` starts each
run on a worker of a real LocalCluster (two worker processes, started by this module), and
the server streams, answers, cancels and resumes it over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.test_dask_executor import Cluster, cluster  # noqa: F401 (a fixture)

from .conftest import GATE_DOT, SLOW_DOT, Served, process_running, start_server, stop_server
from .test_api import stream, wait_until

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def served(cluster: Cluster,  # noqa: F811 (the fixture imported above)
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("dask-served"), "--executor", cluster.spec)
    try:
        yield s
    finally:
        stop_server(s)


def ancestors(pid: int) -> list[int]:
    """``pid``'s parent, its parent, and so on up to init."""
    chain = []
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def run_pid(served: Served, run_id: str) -> int:
    """The pid of the run's process, as its own run.lock records it."""
    lock = served.runs_root / run_id / "run.lock"
    wait_until(lock.is_file)
    pid: int = json.loads(lock.read_text())["pid"]
    return pid


def final(served: Served, run_id: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(
        (served.runs_root / run_id / "final.json").read_text())
    return record


def test_a_run_runs_on_a_worker_and_its_gate_is_answered_over_http(
        served: Served, cluster: Cluster) -> None:  # noqa: F811
    with served.client() as client:
        run_id = served.start(client, GATE_DOT)
        [question] = served.questions(client, run_id)
        # The run's own process descends from a worker process, not from the server.
        chain = ancestors(run_pid(served, run_id))
        assert set(chain) & cluster.worker_pids()
        assert served.process.pid not in chain
        shown = client.get(f"/pipelines/{run_id}").json()
        assert shown["state"] == "running"
        assert shown["worker"] in cluster.client.scheduler_info()["workers"]
        answered = client.post(f"/pipelines/{run_id}/questions/{question['id']}/answer",
                               json={"value": "Yes"})
        assert answered.status_code == 200, answered.text
        frames = stream(client, run_id)
        run = served.wait_for(client, run_id, ("success",))
    events = [json.loads(f["data"]) for f in frames if f["event"] == "message"]
    assert events == served.progress(run_id) and frames[-1]["event"] == "end"
    assert any(e["event"] == "interview_completed" for e in events)
    assert run["started_by_server"] and final(served, run_id)["status"] == "success"


def test_cancel_reaches_the_worker_and_leaves_no_process(served: Served) -> None:
    marker = "41.4213"
    with served.client() as client:
        run_id = served.start(client, SLOW_DOT % marker)
        wait_until(lambda: process_running(f"sleep {marker}"))
        pid = run_pid(served, run_id)
        response = client.post(f"/pipelines/{run_id}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["pid"] == pid
        run = served.wait_for(client, run_id, ("canceled",))
        assert "resume" in run["explanation"]
        assert final(served, run_id)["exit_path"] == "canceled"
        assert not process_running(f"sleep {marker}")
        wait_until(lambda: not process_running(f"--run-id {run_id}"))  # the run itself ends
        assert client.post(f"/pipelines/{run_id}/cancel").status_code == 409


def test_a_run_whose_worker_dies_ends_executor_lost_and_resumes(
        served: Served, cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811
    """The worker and the run's process die at once (as with their machine): the server
    writes the run's final.json, and the run resumes from the web on another worker."""
    go = tmp_path / "go"
    dot = SLOW_DOT.replace("sleep %s", f"test -e {go} || sleep 52.9")
    with served.client() as client:
        run_id = served.start(client, dot)
        wait_until(lambda: process_running("sleep 52.9"))
        pid = run_pid(served, run_id)
        worker = next(p for p in ancestors(pid) if p in cluster.worker_pids())
        os.kill(pid, signal.SIGSTOP)  # no chance to write final.json itself
        os.kill(worker, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        run = served.wait_for(client, run_id, ("fail",))
        ended = final(served, run_id)
        assert ended["exit_path"] == "executor_lost" and "lost" in str(ended["failure_reason"])
        assert "resume" in run["explanation"]
        go.touch()
        resumed = client.post(f"/pipelines/{run_id}/resume")
        assert resumed.status_code == 200, resumed.text
        served.wait_for(client, run_id, ("success",))
    # The resume stopped the command the dead run left behind.
    assert not process_running("sleep 52.9")


def test_a_run_whose_worker_dies_alone_stops_itself_and_ends_executor_lost(
        served: Served, cluster: Cluster) -> None:  # noqa: F811
    """The run's process outlives its worker only to stop itself: its commands stopped,
    nothing left on the machine, and its final.json says the worker was lost, not that
    somebody canceled it."""
    marker = "61.8034"
    with served.client() as client:
        run_id = served.start(client, SLOW_DOT % marker)
        wait_until(lambda: process_running(f"sleep {marker}"))
        pid = run_pid(served, run_id)
        worker = next(p for p in ancestors(pid) if p in cluster.worker_pids())
        os.kill(worker, signal.SIGKILL)
        run = served.wait_for(client, run_id, ("fail",))
        assert "resume" in run["explanation"]
        ended = final(served, run_id)
        assert (ended["status"], ended["exit_path"], ended["failure_class"]) == (
            "fail", "executor_lost", "transient_infra"), ended
        assert "lost" in str(ended["failure_reason"]), ended
        assert "stopped by signal SIGTERM" in str(ended["failure_reason"]), ended
        assert "first" in ended["completed_nodes"], ended  # what the run itself wrote
        assert not process_running(f"sleep {marker}")
        log = (served.runs_root / run_id / "serve.log").read_text()
        assert "lost" in log


def test_an_unreachable_scheduler_is_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "attractor_core", "serve", "--runs-root", str(tmp_path / "runs"),
         "--port", "0", "--executor", "dask://127.0.0.1:9"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stdout
