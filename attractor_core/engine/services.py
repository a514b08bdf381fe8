"""What every part of a running engine shares (``RunServices``) and what a
single line of traversal owns (``Lane``: the main path, or one parallel branch)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy
import trio
from attrs import Factory, define, field

from attractor_core.model import Graph
from attractor_core.policy import RunPolicy
from attractor_core.protocols import RunWorkspace
from attractor_core.registry import HandlerRegistry
from attractor_core.runtime.checkpoint import InFlight
from attractor_core.runtime.event_bus import EventBus
from attractor_core.runtime.events import Event
from attractor_core.runtime.live import LiveView
from attractor_core.runtime.process_records import ProcessRecords
from attractor_core.runtime.rundir import RunDir

from .heartbeat import HeartbeatBoard
from .liveness import LivenessTracker
from .state import RunState


@define
class RunServices:
    graph: Graph
    run_id: str
    run_dir: RunDir
    workdir: Path
    dot_path: Path | None
    pm: pluggy.PluginManager
    registry: HandlerRegistry
    bus: EventBus
    policy: RunPolicy
    options: Mapping[str, Any]
    rng: random.Random = field(factory=random.Random)
    liveness: LivenessTracker = field(factory=LivenessTracker)
    heartbeats: HeartbeatBoard = field(factory=HeartbeatBoard)
    live: LiveView = field(default=Factory(lambda s: LiveView(s.run_dir.live, s.run_id),
                                           takes_self=True))
    # The run's live process groups; a sub-pipeline shares its parent's.
    processes: ProcessRecords = field(default=Factory(
        lambda s: ProcessRecords(s.run_dir.processes, trio.Event()), takes_self=True))
    cancel_reason: str = ""
    status_sources: list[Any] = field(factory=list)
    # The DOT files of the enclosing runs, outermost first (sub-pipeline cycle guard).
    ancestry: tuple[Path, ...] = ()
    steering: list[str] = field(factory=list)  # instructions for the next stage (manager loop)
    workspace: RunWorkspace | None = None  # the plugin owning the workdir, if any
    # Run-wide plugin state by plugin name: the main lane's RunState.plugins (the engine
    # links them), saved in checkpoint.json and final.json.
    plugin_state: dict[str, Any] = field(factory=dict)
    # Ends the run with a plugin's exit path (the engine sets it): (exit_path, reason,
    # failure_class, resumable).
    stop_run: Callable[[str, str, str, bool], None] | None = None

    def take_steering(self) -> str:
        text = "\n\n".join(self.steering)
        self.steering.clear()
        return text

    def emit(self, event: Event) -> None:
        self.bus.emit(event)


CheckpointWriter = Callable[[str, str, "InFlight | None"], None]


def _no_checkpoint(current: str, next_node: str, in_flight: InFlight | None) -> None:
    return None


@define
class Lane:
    """One traversal: its state, where its stage dirs go, how it checkpoints."""

    state: RunState
    stage_root: Callable[[], Path]
    branch_key: str = ""
    checkpoint: CheckpointWriter = _no_checkpoint
    phase: str = "traversal"  # where a cancellation would find this lane
    liveness_key: str | None = None  # defaults to branch_key
    workdir: Path | None = None  # a branch's own workspace; None: the run's workdir

    def work_dir(self, services: RunServices) -> Path:
        return self.workdir or services.workdir

    @property
    def live_key(self) -> str:
        """This lane's key in the run's liveness tracker."""
        return self.branch_key if self.liveness_key is None else self.liveness_key
