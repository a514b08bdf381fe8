"""``AttemptRun``: the engine's implementation of ``StageRun`` for one attempt."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import attrs
from attrs import define

from attractor_core.model import Context, Node, Outcome
from attractor_core.model.branch import BranchResult
from attractor_core.pipeline import resolve_child_path
from attractor_core.policy import KEYS as POLICY_KEYS
from attractor_core.runtime.events import Event
from attractor_core.runtime.rundir import branch_pass_dir

from .services import Lane, RunServices


def stage_environment(run_id: str, node_id: str, attempt: int, logs_root: Path,
                      stage_dir: Path, workdir: Path) -> dict[str, str]:
    """The process environment plus the stage's ``ATTRACTOR_*`` contract (docs/handlers.md),
    for anything an attempt starts: tool commands, agent CLIs, hooks."""
    env = dict(os.environ)
    env.update({
        "ATTRACTOR_RUN_ID": run_id,
        "ATTRACTOR_NODE_ID": node_id,
        "ATTRACTOR_ATTEMPT": str(attempt),
        "ATTRACTOR_LOGS_ROOT": str(logs_root),
        "ATTRACTOR_STAGE_DIR": str(stage_dir),
        "ATTRACTOR_STATUS_PATH": str(stage_dir / "status.json"),
        "ATTRACTOR_WORKDIR": str(workdir),
    })
    return env


@define
class AttemptRun:
    services: RunServices
    lane: Lane
    node: Node
    stage_dir: Path
    attempt: int
    execution: int
    attempt_id: str
    branch_key: str = ""
    output_bytes: int = 0
    started_wall: float = attrs.Factory(time.time)  # file mtimes are compared with this
    # The status an in-process handler reported (``report_status``): it stands for the
    # canonical status.json, which the engine then writes once, as its record.
    reported: Outcome | None = None

    @property
    def run_id(self) -> str:
        return self.services.config.run_id

    @property
    def logs_root(self) -> Path:
        return self.services.config.run_dir.root

    @property
    def workdir(self) -> Path:
        return self.lane.work_dir(self.services)

    @property
    def dot_path(self) -> Path | None:
        return self.services.config.dot_path

    def environment(self) -> dict[str, str]:
        return stage_environment(self.run_id, self.node.id, self.attempt, self.logs_root,
                                 self.stage_dir, self.workdir)

    def emit(self, event: Any) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"emit() takes an attractor event, not {type(event).__name__}")
        self.services.emit(event)

    def report_status(self, outcome: Outcome) -> None:
        self.reported = outcome

    def progress(self, output_bytes: int) -> None:
        if output_bytes > self.output_bytes:
            self.output_bytes = output_bytes
            self.services.liveness.progress(self.lane.live_key)

    def option(self, key: str, default: Any = None) -> Any:
        """A run option; run-policy keys (``kill_grace``...) fall back to the policy."""
        if key in self.services.config.options:
            return self.services.config.options[key]
        return getattr(self.services.config.policy, key, default) if key in POLICY_KEYS else default

    def plugin_hook(self) -> Any:
        return self.services.config.pm.hook

    def plugin_state(self, name: str) -> dict[str, Any]:
        state: dict[str, Any] = self.services.plugin_state.setdefault(name, {})
        return state

    def enclosing_plugin_states(self, name: str) -> list[dict[str, Any]]:
        services = self.services
        if not services.enclosing_plugin_state and not services.running_sub_runs:
            return []  # a top-level run with no sub-run: asked before and after LLM calls
        return [state.get(name) or {} for state in services.plugin_states_alongside()]

    def stop_run(self, exit_path: str, reason: str, *, failure_class: str = "",
                 resumable: bool = False) -> None:
        if self.services.stop_run is not None:
            self.services.stop_run(exit_path, reason, failure_class, resumable)

    def open_child(self, dot_file: str, *, context: Mapping[str, Any] | None = None,
                   workdir: Path | None = None,
                   steered: bool = True) -> AbstractAsyncContextManager[Any]:
        return self.services.config.subruns.open_child(
            self.services, self.lane, node_id=self.node.id, stage_dir=self.stage_dir,
            dot_path=resolve_child_path(self.dot_path, dot_file), context=context,
            workdir=workdir, steered=steered)

    async def run_branch(self, start: str, *, join: str, key: str, index: int,
                         context: Context) -> BranchResult:
        return await self.services.config.subruns.run_branch(
            self.services, self.lane, node_id=self.node.id, pass_number=self.execution,
            start=start, join=join, key=key, index=index, context=context)

    def finished_branches(self) -> list[BranchResult]:
        return self.services.config.subruns.finished_branches(
            branch_pass_dir(self.lane.stage_root(), self.node.id, self.execution))

    async def adopt_branch(self, result: BranchResult) -> str:
        workspace = self.services.workspace
        if workspace is None or not result.workspace:
            return ""
        return await workspace.adopt_branch(
            node_id=self.node.id, branch_key=result.branch_key,
            branch_workspace=result.workspace, workdir=self.workdir, emit=self.services.emit)
