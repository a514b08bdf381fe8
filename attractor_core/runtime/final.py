"""``final.json``: how a run ended, written exactly once per run.

``exit_path`` is a stable code; docs/run-artifacts.md lists them all.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from attrs import field, frozen

from attractor_core.model.fan_out import BranchFailure
from attractor_core.model.values import to_str_tuple
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


@frozen
class FanOutEnding:
    """A parallel fan-out of the run in which some branch failed (``fan_outs``)."""

    node_id: str
    status: str  # the parallel node's own status, from its join policy
    verdict: str
    failed_branches: tuple[BranchFailure, ...] = ()


@frozen
class FinalRecord:
    run_id: str
    status: str  # success | fail | canceled
    exit_path: str
    started_at: str
    finished_at: str
    duration_ms: int
    logs_root: str
    failure_reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    failed_node_id: str = ""
    abort_reason: str = ""
    completed_nodes: tuple[str, ...] = field(default=(), converter=to_str_tuple)
    restart_count: int = 0
    exit_node: str = ""
    fan_outs: tuple[FanOutEnding, ...] = ()
    # The workspace plugin's final record (git: base_sha, run_branch, final_sha, diff_stat...).
    workspace: dict[str, Any] = field(factory=dict)
    # Run-wide plugin state by plugin name, as the checkpoint holds it (e.g. ``llm_usage``).
    plugins: dict[str, Any] = field(factory=dict)
    # A plugin that stopped the run (``StageRun.stop_run``) said it may be resumed.
    resumable: bool = False
    schema_version: int = SCHEMA_VERSION

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
