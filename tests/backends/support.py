"""Running pipelines through ``attractor run`` for the backend tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import trio

CLI = [sys.executable, "-m", "attractor_core"]
FAKE_CLI = Path(__file__).parent / "fake_cli"


async def attractor_run(tmp_path: Path, dot: str, *options: str,
                        env: Mapping[str, str] | None = None
                        ) -> tuple[subprocess.CompletedProcess[bytes], Path, Path]:
    """Run ``dot`` to its end; returns the process, the logs root and the workdir."""
    (tmp_path / "pipeline.dot").write_text(dot)
    logs, work = tmp_path / "logs", tmp_path / "work"
    work.mkdir(exist_ok=True)
    command = [*CLI, "run", str(tmp_path / "pipeline.dot"), "--logs-root", str(logs),
               "--workdir", str(work), "--run-id", "backend-run", "--quiet", *options]
    done = await trio.run_process(command, capture_stdout=True, capture_stderr=True,
                                  check=False, env={**os.environ, **(env or {})})
    return done, logs, work


def final(logs: Path) -> dict:
    return json.loads((logs / "final.json").read_text())


def events(logs: Path, name: str) -> list[dict]:
    lines = (logs / "progress.ndjson").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
