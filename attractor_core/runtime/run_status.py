"""Reading a run's state from its artifacts alone (for ``attractor status``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attrs import field, frozen

from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from attractor_core.runtime.final import read_final
from attractor_core.runtime.live import read_live
from attractor_core.runtime.lock import RunLock
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.rundir import RunDir, base_run_root


@frozen
class RunStatus:
    run_id: str
    state: str  # running | success | fail | canceled | interrupted
    logs_root: str
    current_node: str = ""
    attempt: int = 0
    exit_path: str = ""
    failure_reason: str = ""
    failure_class: str = ""
    failed_node_id: str = ""
    completed_nodes: tuple[str, ...] = ()
    last_event: dict[str, Any] | None = None
    explanation: str = ""
    workspace: dict[str, Any] = field(factory=dict)  # the workspace plugin's record, if any


def read_run_status(root: Path) -> RunStatus:
    """Raises UsageError when ``root`` holds no run."""
    run_dir = RunDir(base_run_root(root.resolve()))
    manifest = read_manifest(run_dir.manifest)
    live = read_live(run_dir.live) or {}
    events = tail_events(run_dir.progress)
    last = events[-1] if events else None
    final = read_final(run_dir.final)
    if final is not None:
        return RunStatus(final.run_id, final.status, str(run_dir.root),
                         exit_path=final.exit_path, failure_reason=final.failure_reason,
                         failure_class=final.failure_class, failed_node_id=final.failed_node_id,
                         completed_nodes=final.completed_nodes, last_event=last,
                         explanation=explain(final.status, final.failed_node_id,
                                             final.failure_class, final.failure_reason,
                                             final.exit_path, final.completed_nodes),
                         workspace=final.workspace)
    state = "running" if _owner_alive(run_dir, manifest.run_id) else "interrupted"
    node, attempt = str(live.get("current_node", "")), int(live.get("attempt", 0) or 0)
    checkpoint = _checkpoint(run_dir)
    if state == "interrupted" and checkpoint is not None:
        node, attempt = _resume_point(checkpoint)
    return RunStatus(manifest.run_id, state, str(run_dir.root), current_node=node,
                     attempt=attempt, last_event=last,
                     workspace=checkpoint.workspace if checkpoint else {},
                     explanation=("the process that ran it is gone; continue it with "
                                  f"'attractor resume --logs-root {run_dir.root}'"
                                  if state == "interrupted" else ""))


def _checkpoint(run_dir: RunDir) -> Checkpoint | None:
    try:
        return load_checkpoint(run_dir.checkpoint)
    except CheckpointError:
        return None


def _resume_point(cp: Checkpoint) -> tuple[str, int]:
    """Where an interrupted run stopped, from its durable checkpoint: live.json is a view
    refreshed at most every 50 ms and may lag the last stage a killed run started."""
    if cp.in_flight is not None:
        return cp.in_flight.node_id, cp.in_flight.attempt
    return cp.next_node or cp.current_node, 0


def explain(status: str, node: str, cls: str, reason: str, exit_path: str,
            path: tuple[str, ...]) -> str:
    """One paragraph saying how a run ended and the path that led there."""
    if status == "success":
        return f"The run succeeded ({exit_path}) after {len(path)} stage(s)."
    route = " -> ".join(path[-8:]) if path else "(no stage completed)"
    if len(path) > 8:
        route = "... -> " + route
    where = f"at node {node} " if node else ""
    kind = f" (class {cls})" if cls else ""
    because = reason or "no reason recorded"
    return (f"The run ended {status} {where}with exit path {exit_path}{kind}: {because}. "
            f"Path: {route}.")


def tail_events(progress: Path, limit: int = 50) -> list[dict[str, Any]]:
    """The last complete events of progress.ndjson (a torn last line is skipped)."""
    try:
        with progress.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - 262_144))
            lines = fh.read().split(b"\n")
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for line in lines[-limit - 1:]:
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            events.append(parsed)
    return events


def _owner_alive(run_dir: RunDir, run_id: str) -> bool:
    # Read-only: status must not reclaim (delete) the lock of a dead owner.
    return RunLock(run_dir.lock, run_id).owner_alive()
