"""A real ``attractor serve`` process on 127.0.0.1 (port 0) for each test that asks for one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

GATE_DOT = """digraph Gate {
  goal="ship the web gate"
  start [shape=Mdiamond]
  work [shape=parallelogram, tool_command="echo working"]
  ask [shape=hexagon, label="Ship it?"]
  done [shape=Msquare]
  start -> work -> ask
  ask -> done [label="[Y] Yes"]
  ask -> work [label="[N] No"]
}
"""

# A run that stays in one stage until canceled; the marker finds its process.
SLOW_DOT = """digraph Slow {
  start [shape=Mdiamond]
  first [shape=parallelogram, tool_command="echo first"]
  wait [shape=parallelogram, tool_command="sleep %s"]
  done [shape=Msquare]
  start -> first -> wait -> done
}
"""


def flaky_dot(marker: Path) -> str:
    """A run whose ``flaky`` tool stage fails its first attempt (creating ``marker``) and
    succeeds on its one retry; ``never`` runs only if ``flaky`` fails for good."""
    flaky = (f"if [ -e {marker} ]; then echo second; "
             f"else touch {marker}; echo first >&2; exit 1; fi")
    return f"""digraph Flaky {{
  start [shape=Mdiamond]
  first [shape=parallelogram, tool_command="echo steady"]
  flaky [shape=parallelogram, max_retries=1, tool_command="{flaky}"]
  never [shape=parallelogram, tool_command="echo unreached"]
  done [shape=Msquare]
  start -> first -> flaky -> done
  flaky -> never [condition="outcome=fail"]
  never -> done
}}
"""


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, runs_root: Path,
                 token: str | None):
        self.process = process
        self.url = url
        self.runs_root = runs_root
        self.token = token

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def start(self, client: httpx.Client, dot: str, **body: Any) -> str:
        response = client.post("/pipelines", json={"dot": dot, **body})
        assert response.status_code == 201, response.text
        run_id: str = response.json()["id"]
        return run_id

    def wait_for(self, client: httpx.Client, run_id: str, states: tuple[str, ...],
                 timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = client.get(f"/pipelines/{run_id}").json()
            if run["state"] in states:
                return run
            assert time.monotonic() < deadline, f"run {run_id} stayed {run['state']}"
            time.sleep(0.1)

    def questions(self, client: httpx.Client, run_id: str, count: int = 1,
                  timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found: list[dict[str, Any]] = client.get(
                f"/pipelines/{run_id}/questions").json()["questions"]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"no question in run {run_id}"
            time.sleep(0.1)

    def progress(self, run_id: str) -> list[dict[str, Any]]:
        text = (self.runs_root / run_id / "progress.ndjson").read_text()
        return [json.loads(line) for line in text.splitlines() if line]


def start_server(tmp_path: Path, *args: str) -> Served:
    runs_root = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "attractor_core", "serve", "--runs-root", str(runs_root),
         "--port", "0", "--workdir", str(tmp_path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert process.stdout is not None
    token = None
    line = process.stdout.readline()
    if line.startswith("access token"):
        token = line.rsplit(" ", 1)[1].strip()
        line = process.stdout.readline()
    assert line.startswith("serving "), (line, process.stderr.read() if process.stderr else "")
    return Served(process, line.rsplit(" ", 1)[1].strip(), runs_root, token)


def stop_server(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
        raise AssertionError("the server did not stop on SIGTERM") from None
    for stream in (served.process.stdout, served.process.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server per test module; each test starts its own runs in it."""
    served = start_server(tmp_path_factory.mktemp("served"))
    try:
        yield served
    finally:
        stop_server(served)


def process_running(marker: str) -> bool:
    """Whether any process's command line contains ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state != "Z" and entry.name != str(os.getpid()):
            return True
    return False
