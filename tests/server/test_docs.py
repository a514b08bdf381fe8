"""The curl examples of docs/server.md, run in order against a live server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from .conftest import start_server, stop_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_curl_examples_run_as_written(tmp_path: Path) -> None:
    [gate] = blocks("dot")
    commands = [line for block in blocks("sh") for line in block.splitlines()
                if line.startswith("curl ")]
    assert len(commands) >= 10
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "gate.dot").write_text(gate)
    served = start_server(tmp_path)
    try:
        env = {**os.environ, "URL": served.url}
        for command in commands:
            # --fail-with-body: a 4xx is a failure; a command that needs the run to get
            # somewhere first (a question to answer) is retried until it can.
            strict = command.replace("curl ", "curl --fail-with-body ", 1)
            deadline = time.monotonic() + 60
            while True:
                done = subprocess.run(["bash", "-c", strict], env=env, cwd=tmp_path,
                                      capture_output=True, text=True, timeout=120)
                if done.returncode == 0:
                    break
                assert time.monotonic() < deadline, (command, done.stdout, done.stderr)
                time.sleep(0.2)
            if " -o " not in command and "/events" not in command:
                json.loads(done.stdout)
        assert (tmp_path / "demo.svg").read_text().startswith("<?xml")
        final = json.loads((tmp_path / "runs" / "demo" / "final.json").read_text())
        assert final["status"] == "success"
    finally:
        stop_server(served)
