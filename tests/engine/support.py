"""Shared helpers for the engine tests: DOT files, the CLI, and reading run artifacts.

Every helper goes through a public surface: the ``attractor`` command in a
real subprocess, the ``run_pipeline``/``resume_pipeline`` API, or the
files a run leaves in its logs root.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attractor_core.engine import resume_pipeline, run_pipeline
from attractor_core.runtime.final import FinalRecord

# The last event of progress.ndjson for each final status.
TERMINAL_EVENTS = {"success": "run_completed", "fail": "run_failed", "canceled": "run_canceled"}

FINAL_FIELDS = frozenset({
    "schema_version", "run_id", "status", "exit_path", "failure_reason", "failure_class",
    "failure_signature", "failed_node_id", "started_at", "finished_at", "duration_ms",
    "completed_nodes", "restart_count", "logs_root", "exit_node", "fan_outs",
})


def pipeline(tmp_path: Path, body: str, name: str = "pipeline.dot", goal: str = "test",
             graph_attrs: str = "") -> Path:
    """Write ``digraph P { ... }`` with a start and exit node around ``body``;
    ``graph_attrs`` (``', max_restarts=2'``) follow the goal in the graph statement."""
    text = (f'digraph P {{\n  graph [goal="{goal}"{graph_attrs}]\n  start [shape=Mdiamond]\n'
            f"  exit [shape=Msquare]\n{body}\n}}\n")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str, name: str = "pipeline.dot") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "attractor_core", *(str(a) for a in args)]


def attractor(*args: str | Path, cwd: Path | None = None, timeout: float = 60,
              env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``attractor`` CLI to completion and capture its output."""
    return subprocess.run(cli_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


def start_attractor(*args: str | Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start the CLI in its own session (so a test can signal just it)."""
    return subprocess.Popen(cli_command(*args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_strict_json(path: Path) -> Any:
    """Like read_json, but NaN and Infinity, which strict JSON readers reject, fail it."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{path} holds {name}, which is not JSON")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def final(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_json(root / "final.json")
    return data


def checkpoint(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_json(root / "checkpoint.json")
    return data


def events(root: Path, name: str | None = None) -> list[dict[str, Any]]:
    """The events of progress.ndjson, optionally only those called ``name``."""
    lines = (root / "progress.ndjson").read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines if line.strip()]
    return [e for e in parsed if name is None or e["event"] == name]


def attempts(root: Path, node_id: str | None = None) -> list[int]:
    """The attempt numbers of ``stage_attempt_start`` events (for one node, if given)."""
    return [e["attempt"] for e in events(root, "stage_attempt_start")
            if node_id is None or e["node_id"] == node_id]


def visited(root: Path) -> list[str]:
    """Node ids in the order their attempts started."""
    return [e["node_id"] for e in events(root, "stage_attempt_start")]


def edges_taken(root: Path) -> list[tuple[str, str, str, int]]:
    return [(e["from_node"], e["to_node"], e["reason"], e["step"])
            for e in events(root, "edge_selected")]


async def run(dot: Path, root: Path, **kwargs: Any) -> FinalRecord:
    """``run_pipeline`` with the test's logs root; signals stay with pytest."""
    kwargs.setdefault("workdir", root.parent)
    return await run_pipeline(dot, logs_root=root, handle_signals=False, **kwargs)


async def resume(root: Path, **kwargs: Any) -> FinalRecord:
    return await resume_pipeline(root, handle_signals=False, **kwargs)


def assert_complete_final(root: Path, record: FinalRecord | None = None) -> dict[str, Any]:
    """final.json has every documented field, the terminal event comes last,
    and (when given) it matches the record the API returned."""
    data = final(root)
    assert set(data) >= FINAL_FIELDS, FINAL_FIELDS - set(data)
    assert data["logs_root"] == str(root.resolve())
    last = events(root)[-1]
    assert last["event"] == TERMINAL_EVENTS[data["status"]]
    assert last["status"] == data["status"]
    assert last["exit_path"] == data["exit_path"]
    if record is not None:
        assert record.status == data["status"]
        assert record.exit_path == data["exit_path"]
    return data


def seqs_strictly_increase(root: Path) -> bool:
    seqs = [e["seq"] for e in events(root)]
    return all(b > a for a, b in itertools.pairwise(seqs))


def node_lines(nodes: Iterable[str], attrs: str = "shape=box") -> str:
    return "\n".join(f"  {n} [{attrs}]" for n in nodes)


def wait_for_file(path: Path, proc: subprocess.Popen[str], limit_s: float = 30) -> str:
    """Wait (bounded) until ``path`` has content, while ``proc`` keeps running."""
    deadline = time.monotonic() + limit_s
    while not (path.exists() and path.read_text().strip()):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return path.read_text().strip()


def process_gone(pid: int, limit_s: float = 10) -> bool:
    """True once ``pid`` has exited (a zombie counts as gone) within ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def group_alive(pgid: int) -> bool:
    """Whether a non-zombie process of group ``pgid`` exists (checked through /proc)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
