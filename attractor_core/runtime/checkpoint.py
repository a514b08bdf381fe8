"""``checkpoint.json``: everything a resume needs (spec §5.3, extended).

Written when an attempt starts (``in_flight`` set; the stage completed
before it is in the same journal entry) and after the last stage of a
traversal (``next_node`` set), so a crash at any moment leaves a
checkpoint from which ``attractor resume`` re-runs at most the node that
was in flight (or had just ended, its successor not yet started).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attractor_core.errors import RunError
from attractor_core.model.branch import BranchResult
from attractor_core.model.fan_out import FanOutReport
from attractor_core.model.values import to_str_tuple
from attractor_core.records import Record
from attractor_core.runtime.atomic import ArtifactWriteError, write_json_atomic
from attractor_core.runtime.json_text import compact_json_bytes
from attractor_core.runtime.structure import structure

SCHEMA_VERSION = 1


class NodeRecord(Record):
    """The last outcome of a node, kept for goal gates and causality."""

    __match_args__ = __slots__ = (
        "status", "failure_reason", "failure_class", "failure_signature", "failed_node_id",
        "fan_out",
    )
    status: str
    failure_reason: str
    failure_class: str
    failure_signature: str
    failed_node_id: str
    fan_out: FanOutReport | None

    def __init__(self, status: str, failure_reason: str = "", failure_class: str = "",
                 failure_signature: str = "", failed_node_id: str = "",
                 fan_out: FanOutReport | None = None) -> None:
        setter = object.__setattr__
        setter(self, "status", status)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failure_signature", failure_signature)
        setter(self, "failed_node_id", failed_node_id)
        setter(self, "fan_out", fan_out)


class InFlight(Record):
    __match_args__ = __slots__ = ("node_id", "attempt")
    node_id: str
    attempt: int

    def __init__(self, node_id: str, attempt: int) -> None:
        setter = object.__setattr__
        setter(self, "node_id", node_id)
        setter(self, "attempt", attempt)


class Checkpoint(Record):
    __match_args__ = __slots__ = (
        "run_id", "timestamp", "current_node", "next_node", "completed_nodes", "node_outcomes",
        "node_retries", "node_executions", "crash_reruns", "in_flight", "last_outcome", "context",
        "logs", "restart_count", "last_score", "failure_signatures", "restart_signatures",
        "node_visits", "stopped_cleanly", "journal_seq", "branch_result", "workspace", "plugins",
        "schema_version",
    )
    run_id: str
    timestamp: str
    current_node: str
    next_node: str
    completed_nodes: tuple[str, ...]
    node_outcomes: dict[str, NodeRecord]
    node_retries: dict[str, int]
    node_executions: dict[str, int]
    crash_reruns: dict[str, int]
    in_flight: InFlight | None
    last_outcome: NodeRecord | None
    context: dict[str, Any]
    logs: tuple[str, ...]
    restart_count: int
    last_score: float  # the last outcome's score (a parallel branch's fan-in rank)
    failure_signatures: dict[str, int]
    restart_signatures: dict[str, int]
    node_visits: dict[str, int]
    # True when the in-flight attempt was stopped on purpose (cancel, watchdog), so a
    # resume re-runs it without counting a crash against it.
    stopped_cleanly: bool
    journal_seq: int  # the last journal entry this snapshot includes
    # A parallel branch's checkpoint: how the branch ended, once it has (null until then,
    # and always on the main path).
    branch_result: BranchResult | None
    # The workspace plugin's record of the main path (e.g. the commit of the last stage).
    workspace: dict[str, Any]
    # Run-wide plugin state by plugin name (e.g. the LLM spend so far), restored on resume.
    plugins: dict[str, Any]
    schema_version: int

    def __init__(self, run_id: str, timestamp: str, current_node: str, next_node: str,
                 completed_nodes: Iterable[str],
                 node_outcomes: dict[str, NodeRecord] | None = None,
                 node_retries: dict[str, int] | None = None,
                 node_executions: dict[str, int] | None = None,
                 crash_reruns: dict[str, int] | None = None, in_flight: InFlight | None = None,
                 last_outcome: NodeRecord | None = None, context: dict[str, Any] | None = None,
                 logs: Iterable[str] = (), restart_count: int = 0, last_score: float = 0.0,
                 failure_signatures: dict[str, int] | None = None,
                 restart_signatures: dict[str, int] | None = None,
                 node_visits: dict[str, int] | None = None, stopped_cleanly: bool = False,
                 journal_seq: int = 0, branch_result: BranchResult | None = None,
                 workspace: dict[str, Any] | None = None, plugins: dict[str, Any] | None = None,
                 schema_version: int = SCHEMA_VERSION) -> None:
        setter = object.__setattr__
        setter(self, "run_id", run_id)
        setter(self, "timestamp", timestamp)
        setter(self, "current_node", current_node)
        setter(self, "next_node", next_node)
        setter(self, "completed_nodes", to_str_tuple(completed_nodes))
        setter(self, "node_outcomes", {} if node_outcomes is None else node_outcomes)
        setter(self, "node_retries", {} if node_retries is None else node_retries)
        setter(self, "node_executions", {} if node_executions is None else node_executions)
        setter(self, "crash_reruns", {} if crash_reruns is None else crash_reruns)
        setter(self, "in_flight", in_flight)
        setter(self, "last_outcome", last_outcome)
        setter(self, "context", {} if context is None else context)
        setter(self, "logs", to_str_tuple(logs))
        setter(self, "restart_count", restart_count)
        setter(self, "last_score", last_score)
        setter(self, "failure_signatures", {} if failure_signatures is None else failure_signatures)
        setter(self, "restart_signatures", {} if restart_signatures is None else restart_signatures)
        setter(self, "node_visits", {} if node_visits is None else node_visits)
        setter(self, "stopped_cleanly", stopped_cleanly)
        setter(self, "journal_seq", journal_seq)
        setter(self, "branch_result", branch_result)
        setter(self, "workspace", {} if workspace is None else workspace)
        setter(self, "plugins", {} if plugins is None else plugins)
        setter(self, "schema_version", schema_version)


class CheckpointError(RunError):
    """The checkpoint is missing or cannot be read."""


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    from attractor_core.runtime.serialization import CONVERTER  # readers do without cattrs

    write_json_atomic(path, CONVERTER.unstructure(checkpoint), compact=True)


JOURNAL_NAME = "checkpoint.journal"


class CheckpointJournal:
    """Appends checkpoint deltas to ``checkpoint.journal`` beside the snapshot.

    Rewriting a snapshot that grows with the run at every stage would make a
    run quadratic in its length; a journal entry costs the size of what one
    stage changed. Each entry is one ``write`` plus an fsync; a torn last
    line (a crash mid-write) is ignored on load.
    """

    def __init__(self, snapshot: Path):
        self.path = snapshot.parent / JOURNAL_NAME
        self._fd = -1

    def append(self, delta: dict[str, Any]) -> None:
        line = compact_json_bytes(delta, newline=True)
        try:
            fd = self._open()
            os.write(fd, line)
            os.fsync(fd)
        except OSError as exc:
            raise ArtifactWriteError(self.path, exc) from exc

    def reset(self) -> None:
        """After a snapshot: the entries it includes are no longer needed."""
        try:
            fd = self._open()
            os.ftruncate(fd, 0)
            os.fsync(fd)
        except OSError as exc:
            raise ArtifactWriteError(self.path, exc) from exc

    def _open(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def load_checkpoint(path: Path) -> Checkpoint:
    """The snapshot at ``path`` with the journal entries written after it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint.json; the run never started a stage") \
            from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint: {exc}") from None
    try:
        for delta in _journal_entries(path.parent / JOURNAL_NAME):
            if delta.get("seq", 0) > raw.get("journal_seq", 0):
                apply_delta(raw, delta)
        return structure(raw, Checkpoint)
    except Exception as exc:
        raise CheckpointError(f"{path}: malformed checkpoint: {exc}") from None


def _journal_entries(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    entries = []
    for line in lines[:-1]:  # the last element is "" or a torn line
        entries.append(json.loads(line))
    return entries


_SCALARS = ("timestamp", "current_node", "next_node", "in_flight", "last_outcome",
            "restart_count", "last_score", "branch_result", "workspace",
            "plugins")


def apply_delta(raw: dict[str, Any], delta: dict[str, Any]) -> None:
    """Replay one journal entry onto a snapshot in its JSON form."""
    for key in _SCALARS:
        if key in delta:
            raw[key] = delta[key]
    raw["stopped_cleanly"] = delta.get("stopped_cleanly", False)
    raw.setdefault("completed_nodes", []).extend(delta.get("completed", ()))
    for name, changes in delta.get("maps", {}).items():
        target = raw.setdefault(name, {})
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    raw.setdefault("context", {}).update(delta.get("context", {}))
    raw.setdefault("logs", []).extend(delta.get("logs", ()))
    raw["journal_seq"] = delta["seq"]
