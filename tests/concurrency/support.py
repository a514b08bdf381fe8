"""Helpers for the concurrency tests: DOT snippets for tool branches and result readers.

Every branch in these tests is a real ``tool`` stage (``/bin/sh -c``) or a
``simulate`` codergen stage; results are read back from the run's files.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import trio

from tests.engine.support import read_json
from tests.handlers.helpers import survivors


def tool(node_id: str, command: str, extra: str = "") -> str:
    """A tool node line; ``command`` may use double quotes only escaped."""
    escaped = command.replace("\\", "\\\\").replace('"', '\\"')
    more = f", {extra}" if extra else ""
    return f'  {node_id} [shape=parallelogram, tool_command="{escaped}"{more}]'


def sleeper(node_id: str, pids: Path, seconds: int = 60) -> str:
    """A tool that records its pid, then becomes ``sleep`` (same pid) until killed."""
    return tool(node_id, f"echo $$ >> {pids}; exec sleep {seconds}")


def waiter(node_id: str, pids: Path, count: int = 1, then: str = "true") -> str:
    """A tool that waits until ``count`` sleepers are running, then runs ``then``."""
    return tool(node_id, f"while [ $(cat {pids} 2>/dev/null | wc -l) -lt {count} ]; "
                         f"do sleep 0.02; done; {then}")


def results(root: Path, node_id: str = "par") -> dict[str, Any]:
    data: dict[str, Any] = read_json(root / node_id / "parallel_results.json")
    return data


def statuses(root: Path, node_id: str = "par") -> dict[str, str]:
    return {r["branch_key"]: r["status"] for r in results(root, node_id)["results"]}


def context(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_json(root / "checkpoint.json")["context"]
    return data


async def gone(pids: list[int]) -> bool:
    """Whether every pid is gone (SIGKILL lands asynchronously; up to 10 s is allowed)."""
    return not await survivors(pids)


def pids_in(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def interrupted_when_running(proc: subprocess.Popen[str], pids: Path,
                                   count: int) -> tuple[int, list[int]]:
    """SIGINT ``proc`` once ``count`` sleepers run; its exit code and the sleepers' pids."""
    try:
        with trio.fail_after(60):
            while len(pids_in(pids)) < count:
                await trio.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        code = await trio.to_thread.run_sync(lambda: proc.wait(timeout=60))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    return code, pids_in(pids)
