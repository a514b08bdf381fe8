"""``final.json``: how a run ended, written exactly once per run.

``exit_path`` is a stable code; docs/run-artifacts.md lists them all.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attractor_core.model.fan_out import BranchFailure
from attractor_core.model.values import to_str_tuple
from attractor_core.records import Record
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.structure import structure

SCHEMA_VERSION = 1


class ExitPath:
    """The stable codes of ``final.json``'s ``exit_path``."""

    SUCCESS = "success"  # reached an exit node with goal gates satisfied
    DEAD_END = "dead_end"  # a non-failed stage with no outgoing edge (spec §3.2)
    STAGE_FAILED = "stage_failed"  # a failure with no route, or one that reached an exit
    GOAL_GATE_UNSATISFIED = "goal_gate_unsatisfied"
    LOOP_RESTART_LIMIT = "loop_restart_limit"
    CANCELED = "canceled"  # SIGINT, SIGTERM or the Python API
    STOPPED = "stopped"  # ``attractor stop`` from another terminal
    WATCHDOG_STALL = "watchdog_stall"
    CYCLE_BREAKER = "cycle_breaker"  # a failure signature or node visit count hit its limit
    LOOP_RESTART_BLOCKED = "loop_restart_blocked"  # a non-transient failure met a restart edge
    INVALID_GRAPH = "invalid_graph"  # discovered after the logs root existed (resume)
    RESUME_FAILED = "resume_failed"
    ENGINE_ERROR = "engine_error"  # a bug in attractor itself; see engine-crash.txt
    ARTIFACT_WRITE_FAILED = "artifact_write_failed"  # a full disk, a deleted run directory
    EXECUTOR_LOST = "executor_lost"  # the executor running the branches became unreachable

    # A run that ended this way may be resumed; any other ending is final.
    RESUMABLE = frozenset({CANCELED, STOPPED, WATCHDOG_STALL, ENGINE_ERROR, INVALID_GRAPH,
                           ARTIFACT_WRITE_FAILED, EXECUTOR_LOST})

    ALL = (SUCCESS, DEAD_END, STAGE_FAILED, GOAL_GATE_UNSATISFIED, LOOP_RESTART_LIMIT,
           CANCELED, STOPPED, WATCHDOG_STALL, CYCLE_BREAKER, LOOP_RESTART_BLOCKED, INVALID_GRAPH,
           RESUME_FAILED, ENGINE_ERROR, ARTIFACT_WRITE_FAILED, EXECUTOR_LOST)


class FanOutEnding(Record):
    """A parallel fan-out of the run in which some branch failed (``fan_outs``)."""

    __match_args__ = __slots__ = ("node_id", "status", "verdict", "failed_branches")
    node_id: str
    status: str  # the parallel node's own status, from its join policy
    verdict: str
    failed_branches: tuple[BranchFailure, ...]

    def __init__(self, node_id: str, status: str, verdict: str,
                 failed_branches: tuple[BranchFailure, ...] = ()) -> None:
        setter = object.__setattr__
        setter(self, "node_id", node_id)
        setter(self, "status", status)
        setter(self, "verdict", verdict)
        setter(self, "failed_branches", failed_branches)


class FinalRecord(Record):
    __match_args__ = __slots__ = (
        "run_id", "status", "exit_path", "started_at", "finished_at", "duration_ms", "logs_root",
        "failure_reason", "failure_class", "failure_signature", "failed_node_id", "abort_reason",
        "completed_nodes", "restart_count", "exit_node", "fan_outs", "workspace", "plugins",
        "resumable", "schema_version",
    )
    run_id: str
    status: str  # success | fail | canceled
    exit_path: str
    started_at: str
    finished_at: str
    duration_ms: int
    logs_root: str
    failure_reason: str
    failure_class: str
    failure_signature: str
    failed_node_id: str
    abort_reason: str
    completed_nodes: tuple[str, ...]
    restart_count: int
    exit_node: str
    fan_outs: tuple[FanOutEnding, ...]
    # The workspace plugin's final record (git: base_sha, run_branch, final_sha, diff_stat...).
    workspace: dict[str, Any]
    # Run-wide plugin state by plugin name, as the checkpoint holds it (e.g. ``llm_usage``).
    plugins: dict[str, Any]
    # A plugin that stopped the run (``StageRun.stop_run``) said it may be resumed.
    resumable: bool
    schema_version: int

    def __init__(self, run_id: str, status: str, exit_path: str, started_at: str, finished_at: str,
                 duration_ms: int, logs_root: str, failure_reason: str = "",
                 failure_class: str = "", failure_signature: str = "", failed_node_id: str = "",
                 abort_reason: str = "", completed_nodes: Iterable[str] = (),
                 restart_count: int = 0, exit_node: str = "",
                 fan_outs: tuple[FanOutEnding, ...] = (), workspace: dict[str, Any] | None = None,
                 plugins: dict[str, Any] | None = None, resumable: bool = False,
                 schema_version: int = SCHEMA_VERSION) -> None:
        setter = object.__setattr__
        setter(self, "run_id", run_id)
        setter(self, "status", status)
        setter(self, "exit_path", exit_path)
        setter(self, "started_at", started_at)
        setter(self, "finished_at", finished_at)
        setter(self, "duration_ms", duration_ms)
        setter(self, "logs_root", logs_root)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failure_signature", failure_signature)
        setter(self, "failed_node_id", failed_node_id)
        setter(self, "abort_reason", abort_reason)
        setter(self, "completed_nodes", to_str_tuple(completed_nodes))
        setter(self, "restart_count", restart_count)
        setter(self, "exit_node", exit_node)
        setter(self, "fan_outs", fan_outs)
        setter(self, "workspace", {} if workspace is None else workspace)
        setter(self, "plugins", {} if plugins is None else plugins)
        setter(self, "resumable", resumable)
        setter(self, "schema_version", schema_version)

    @property
    def can_resume(self) -> bool:
        """True when ``attractor resume`` may continue this run."""
        return self.resumable or self.exit_path in ExitPath.RESUMABLE

    @property
    def exit_code(self) -> int:
        return {"success": 0, "canceled": 3}.get(self.status, 1)


def resume_command(logs_root: str) -> str:
    """The command that continues a run stopped before its end."""
    return f"attractor resume --logs-root {shlex.quote(logs_root)}"


def write_final(path: Path, record: FinalRecord) -> None:
    from attractor_core.runtime.serialization import CONVERTER  # readers do without cattrs

    write_json_atomic(path, CONVERTER.unstructure(record))


def read_final(path: Path) -> FinalRecord | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return structure(raw, FinalRecord)
    except FileNotFoundError:
        return None
    except Exception:
        return None
