"""Reading a run's state from its artifacts alone (for ``attractor status``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attractor_core.records import Record
from attractor_core.runtime.atomic import read_json_object
from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from attractor_core.runtime.final import (
    FanOutEnding,
    FinalRecord,
    read_final,
    resume_command,
)
from attractor_core.runtime.lock import RunLock
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.process_records import GroupRecord, read_process_records
from attractor_core.runtime.procfs import left_behind
from attractor_core.runtime.rundir import RunDir, base_run_root

TAIL_BYTES = 262_144  # how far back from its end progress.ndjson is read for its last events


class RunStatus(Record):
    __match_args__ = __slots__ = (
        "run_id", "state", "logs_root", "current_node", "attempt", "exit_path", "failure_reason",
        "failure_class", "failed_node_id", "completed_nodes", "last_event", "explanation",
        "exit_node", "fan_outs", "owner_pid", "stale_process_groups", "workspace", "plugins",
    )
    run_id: str
    state: str  # running | success | fail | canceled | interrupted
    logs_root: str
    current_node: str
    attempt: int
    exit_path: str
    failure_reason: str
    failure_class: str
    failed_node_id: str
    completed_nodes: tuple[str, ...]
    last_event: dict[str, Any] | None
    explanation: str
    exit_node: str
    fan_outs: tuple[FanOutEnding, ...]
    owner_pid: int | None  # the live process running it (state ``running``)
    # Process groups whose owner died (kill -9) but which still run; resume stops them.
    stale_process_groups: tuple[GroupRecord, ...]
    workspace: dict[str, Any]  # the workspace plugin's record, if any
    # Run-wide plugin state (final.json, else the checkpoint); a plugin's ``status_line``
    # string is printed by ``attractor status``.
    plugins: dict[str, Any]

    def __init__(
        self,
        run_id: str,
        state: str,
        logs_root: str,
        current_node: str = "",
        attempt: int = 0,
        exit_path: str = "",
        failure_reason: str = "",
        failure_class: str = "",
        failed_node_id: str = "",
        completed_nodes: tuple[str, ...] = (),
        last_event: dict[str, Any] | None = None,
        explanation: str = "",
        exit_node: str = "",
        fan_outs: tuple[FanOutEnding, ...] = (),
        owner_pid: int | None = None,
        stale_process_groups: tuple[GroupRecord, ...] = (),
        workspace: dict[str, Any] | None = None,
        plugins: dict[str, Any] | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "run_id", run_id)
        setter(self, "state", state)
        setter(self, "logs_root", logs_root)
        setter(self, "current_node", current_node)
        setter(self, "attempt", attempt)
        setter(self, "exit_path", exit_path)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failed_node_id", failed_node_id)
        setter(self, "completed_nodes", completed_nodes)
        setter(self, "last_event", last_event)
        setter(self, "explanation", explanation)
        setter(self, "exit_node", exit_node)
        setter(self, "fan_outs", fan_outs)
        setter(self, "owner_pid", owner_pid)
        setter(self, "stale_process_groups", stale_process_groups)
        setter(self, "workspace", {} if workspace is None else workspace)
        setter(self, "plugins", {} if plugins is None else plugins)


def read_run_status(root: Path) -> RunStatus:
    """Raises UsageError when ``root`` holds no run."""
    run_dir = RunDir(base_run_root(root.resolve()))
    manifest = read_manifest(run_dir.manifest)
    live = read_json_object(run_dir.live) or {}
    events = read_events(run_dir.progress, limit=50)
    last = events[-1] if events else None
    final = read_final(run_dir.final)
    stale = tuple(left_behind(read_process_records(run_dir.processes)))
    if final is not None:
        return RunStatus(final.run_id, final.status, str(run_dir.root),
                         exit_path=final.exit_path, failure_reason=final.failure_reason,
                         failure_class=final.failure_class, failed_node_id=final.failed_node_id,
                         completed_nodes=final.completed_nodes, last_event=last,
                         explanation=explain_final(final), exit_node=final.exit_node,
                         fan_outs=final.fan_outs, stale_process_groups=stale,
                         workspace=final.workspace, plugins=final.plugins)
    owner = live_owner(run_dir, manifest.run_id)
    state = "running" if owner is not None else "interrupted"
    node, attempt = str(live.get("current_node", "")), int(live.get("attempt", 0) or 0)
    checkpoint = _checkpoint(run_dir)
    if checkpoint is not None:
        node, attempt = (_resume_point(checkpoint) if state == "interrupted"
                         else _stage_in_flight(checkpoint, node, attempt))
    return RunStatus(manifest.run_id, state, str(run_dir.root), current_node=node,
                     attempt=attempt, last_event=last, owner_pid=owner or None,
                     stale_process_groups=stale,
                     workspace=checkpoint.workspace if checkpoint else {},
                     plugins=checkpoint.plugins if checkpoint else {},
                     explanation=("the process that ran it is gone; continue it with "
                                  f"'{resume_command(str(run_dir.root))}'"
                                  if state == "interrupted" else ""))


def _checkpoint(run_dir: RunDir) -> Checkpoint | None:
    try:
        return load_checkpoint(run_dir.checkpoint)
    except CheckpointError:
        return None


def _stage_in_flight(cp: Checkpoint, node: str, attempt: int) -> tuple[str, int]:
    """The stage a running run is in. live.json is refreshed by the run's own event loop,
    so a stage that blocks that loop (a handler stuck in a blocking call) leaves it naming
    the stage before. The checkpoint records every attempt before it starts: when live.json
    still names the last completed stage while another is in flight, the checkpoint is
    right. (A parallel branch's stage is in live.json only, and is kept.)"""
    in_flight = cp.in_flight
    if in_flight is None or in_flight.node_id == node:
        return node, attempt
    if not node or (cp.completed_nodes and cp.completed_nodes[-1] == node):
        return in_flight.node_id, in_flight.attempt
    return node, attempt


def _resume_point(cp: Checkpoint) -> tuple[str, int]:
    """Where an interrupted run stopped, from its durable checkpoint: live.json is a view
    refreshed at most every 50 ms and may lag the last stage a killed run started."""
    if cp.in_flight is not None:
        return cp.in_flight.node_id, cp.in_flight.attempt
    return cp.next_node or cp.current_node, 0


def explain_final(final: FinalRecord) -> str:
    """How the run ended, how to continue it when it can be, and whether branches failed."""
    text = explain(final.status, final.failed_node_id, final.failure_class,
                   final.failure_reason, final.exit_path, final.completed_nodes)
    if final.can_resume:
        text += f" Continue it with '{resume_command(final.logs_root)}'."
    failed = failed_branch_count(final.fan_outs)
    if failed and final.status == "success":
        text += (f" {failed} parallel branch{'es' if failed != 1 else ''} failed on the way; "
                 "the join policy let the run go on.")
    return text


def failed_branch_count(fan_outs: tuple[FanOutEnding, ...]) -> int:
    return sum(len(f.failed_branches) for f in fan_outs)


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


def read_events(progress: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The events of progress.ndjson, all of them or about the last ``limit`` (read from
    the file's last 256 KiB); a line that is no complete JSON object, such as a torn last
    line, is skipped. A missing file has none."""
    try:
        with progress.open("rb") as fh:
            if limit is not None:
                size = fh.seek(0, 2)
                fh.seek(max(0, size - TAIL_BYTES))
            lines = fh.read().split(b"\n")
    except FileNotFoundError:
        return []
    if limit is not None:
        lines = lines[-limit - 1:]
    events: list[dict[str, Any]] = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            events.append(parsed)
    return events


def live_owner(run_dir: RunDir, run_id: str) -> int | None:
    """The pid of the live process that holds the run's lock (0 if alive but unreadable),
    or None. Read-only: status must not reclaim (delete) the lock of a dead owner."""
    lock = RunLock(run_dir.lock, run_id)
    if not lock.owner_alive():
        return None
    return lock.owner_pid() or 0
