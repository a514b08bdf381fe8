"""``checkpoint.json``: everything a resume needs (spec §5.3, extended).

Written atomically when an attempt starts (``in_flight`` set) and after
every completed stage (``next_node`` set), so a crash at any moment
leaves a checkpoint from which ``attractor resume`` re-runs at most the
node that was in flight.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attrs import field, frozen

from attractor_core.model.values import to_str_tuple
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.serialization import CONVERTER

SCHEMA_VERSION = 1


@frozen
class NodeRecord:
    """The last outcome of a node, kept for goal gates and causality."""

    status: str
    failure_reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    failed_node_id: str = ""


@frozen
class InFlight:
    node_id: str
    attempt: int


@frozen
class Checkpoint:
    run_id: str
    timestamp: str
    current_node: str
    next_node: str
    completed_nodes: tuple[str, ...] = field(converter=to_str_tuple)
    node_outcomes: dict[str, NodeRecord] = field(factory=dict)
    node_retries: dict[str, int] = field(factory=dict)
    node_executions: dict[str, int] = field(factory=dict)
    crash_reruns: dict[str, int] = field(factory=dict)
    in_flight: InFlight | None = None
    last_outcome: NodeRecord | None = None
    context: dict[str, Any] = field(factory=dict)
    logs: tuple[str, ...] = field(default=(), converter=to_str_tuple)
    restart_count: int = 0
    failure_signatures: dict[str, int] = field(factory=dict)
    restart_signatures: dict[str, int] = field(factory=dict)
    node_visits: dict[str, int] = field(factory=dict)
    # True when the in-flight attempt was stopped on purpose (cancel, watchdog), so a
    # resume re-runs it without counting a crash against it.
    stopped_cleanly: bool = False
    schema_version: int = SCHEMA_VERSION


class CheckpointError(Exception):
    """The checkpoint is missing or cannot be read."""


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    write_json_atomic(path, CONVERTER.unstructure(checkpoint), compact=True)


def load_checkpoint(path: Path) -> Checkpoint:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint.json; the run never started a stage") \
            from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint: {exc}") from None
    try:
        return CONVERTER.structure(raw, Checkpoint)
    except Exception as exc:
        raise CheckpointError(f"{path}: malformed checkpoint: {exc}") from None
