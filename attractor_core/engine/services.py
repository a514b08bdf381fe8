"""What a run is (``RunConfig``, frozen), what every part of a running engine shares
(``RunServices``: the configuration, the run's services, the little that changes),
what a single line of traversal owns (``Lane``: the main path, or one parallel
branch), and how a stage starts more traversal (``SubRuns``)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

import pluggy
import trio
from attrs import Factory, define, field, frozen, setters

from attractor_core.executors import Executor
from attractor_core.model import Context, Graph
from attractor_core.model.branch import BranchResult
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
from .yielding import Yielding


@frozen
class RunConfig:
    """What a run is, fixed from its setup to its end. A child run derives its own with
    ``attrs.evolve``; parallel branches share their run's (a branch's own workdir, stage
    root and checkpoint are its :class:`Lane`)."""

    graph: Graph
    run_id: str
    run_dir: RunDir
    workdir: Path
    dot_path: Path | None
    pm: pluggy.PluginManager
    registry: HandlerRegistry
    policy: RunPolicy
    options: Mapping[str, Any]
    subruns: SubRuns  # how a stage starts a branch or a child run
    status_sources: tuple[Any, ...] = ()  # in precedence order (``engine.ingestion``)
    # The DOT files of the enclosing runs, outermost first (sub-pipeline cycle guard).
    ancestry: tuple[Path, ...] = ()
    # Where the run's parallel branches run (``attractor_core.executors``); None: here.
    executor: Executor | None = None


@define(on_setattr=setters.frozen)
class RunServices:
    """What every part of a running engine shares: the run's configuration, the services
    it runs with (fixed when the run is set up; a child run shares its parent's liveness
    tracker and process records), and what changes while it runs: ``cancel_reason`` and the
    ``steering`` queued for the next stage. The engine that builds them gives the plugin
    state and ``stop_run``."""

    config: RunConfig
    bus: EventBus
    workspace: RunWorkspace | None = None  # the plugin owning the workdir, if any
    rng: random.Random = field(factory=random.Random)
    liveness: LivenessTracker = field(factory=LivenessTracker)
    heartbeats: HeartbeatBoard = field(factory=HeartbeatBoard)
    yielding: Yielding = field(factory=Yielding)
    live: LiveView = field(default=Factory(
        lambda s: LiveView(s.config.run_dir.live, s.config.run_id), takes_self=True))
    # The run's live process groups; a sub-pipeline shares its parent's.
    processes: ProcessRecords = field(default=Factory(
        lambda s: ProcessRecords(s.config.run_dir.processes, trio.Event()), takes_self=True))
    # Why the run is being cancelled, once it is (set by ``Engine.cancel``).
    cancel_reason: str = field(default="", on_setattr=setters.NO_OP)
    steering: list[str] = field(factory=list)  # instructions for the next stage (manager loop)
    # Run-wide plugin state by plugin name: the main lane's RunState.plugins, saved in
    # checkpoint.json and final.json (the same dict: plugins change it in place).
    plugin_state: dict[str, Any] = field(factory=dict)
    # Ends the run with a plugin's exit path (the engine's ``stop``): (exit_path, reason,
    # failure_class, resumable). A remote branch records it for its result.
    stop_run: Callable[[str, str, str, bool], None] | None = None
    # The plugin state of the runs enclosing this one, innermost first: a sub-pipeline's
    # parent's (live), or for a remote branch a copy of its run's taken at its dispatch.
    enclosing_plugin_state: tuple[dict[str, Any], ...] = ()
    # The plugin state of sub-runs stopped before their end (a resume continues their own
    # count), by sub-run: merged into final.json's copy only.
    unfinished_plugin_state: dict[str, Mapping[str, Any]] = field(factory=dict)
    # The plugin state of the sub-pipelines running in this process anywhere in the run's
    # tree (one dict, shared by the tree), by run directory, live: from their start until
    # they are merged into their parent's (or kept apart, stopped) when they end.
    running_sub_runs: dict[str, dict[str, Any]] = field(factory=dict)

    def plugin_states_alongside(self) -> tuple[dict[str, Any], ...]:
        """The plugin state of the rest of the run tree, which this run's own does not hold:
        the enclosing runs' (innermost first), then the other sub-pipelines running in
        this process (this run's children, its siblings and theirs). Run-wide figures
        are this run's state plus these; each sub-run's is merged into its parent's when
        it ends, so nothing is counted twice."""
        chain = self.enclosing_plugin_state
        running = self.running_sub_runs
        if not running:
            return chain
        own = self.plugin_state
        return (*chain, *(state for state in running.values()
                          if state is not own and all(state is not e for e in chain)))

    def take_steering(self) -> str:
        text = "\n\n".join(self.steering)
        self.steering.clear()
        return text

    def emit(self, event: Event) -> None:
        self.bus.emit(event)

    def plugin_state_snapshot(self) -> tuple[dict[str, Any], ...]:
        """A copy of the whole run tree's plugin state as of now, this run's first: what a
        unit sent to another process (a remote branch or sub-pipeline) reads as its
        enclosing runs' state."""
        return copy.deepcopy((self.plugin_state, *self.plugin_states_alongside()))

    def add_sub_run_plugin_state(self, key: str, other: Mapping[str, Any], *,
                                 ended: bool) -> None:
        """Merge the plugin state of sub-run ``key`` (a child run's or a remote branch's
        directory) into this run's through ``attractor_merge_plugin_state``, once: the keys
        merged are kept in the state (:data:`MERGED_KEY`), so a sub-run read back on resume
        is not counted twice. A sub-run that did not end (``ended`` false) is kept apart
        for final.json."""
        if not other:
            return
        if not ended:
            self.unfinished_plugin_state[key] = other
            return
        self.unfinished_plugin_state.pop(key, None)
        merged = self.plugin_state.setdefault(MERGED_KEY, [])
        if key in merged:
            return
        merged.append(key)
        self.config.pm.hook.attractor_merge_plugin_state(into=self.plugin_state, other=other)

    def final_plugin_state(self) -> dict[str, Any]:
        """The plugin state for final.json: the run's, plus its sub-runs stopped before
        their end."""
        if not self.unfinished_plugin_state:
            return self.plugin_state
        state = copy.deepcopy(self.plugin_state)
        for other in self.unfinished_plugin_state.values():
            self.config.pm.hook.attractor_merge_plugin_state(into=state, other=other)
        return state

    def sub_run_key(self, path: Path) -> str:
        """How a sub-run's directory is named in :data:`MERGED_KEY`: relative to the logs
        root."""
        try:
            return str(path.relative_to(self.config.run_dir.root))
        except ValueError:
            return str(path)


# The kernel's entry in the run-wide plugin state: the sub-runs whose plugin state the
# run's already holds (``RunServices.add_sub_run_plugin_state``).
MERGED_KEY = "attractor.merged_sub_runs"

CheckpointWriter = Callable[[str, str, "InFlight | None"], None]


def _no_checkpoint(current: str, next_node: str, in_flight: InFlight | None) -> None:
    return None


def _announce_now(current: str, next_node: str, announce: Callable[[], None]) -> None:
    announce()


def _nothing_held() -> None:
    return None


@define
class Lane:
    """One traversal: its state, where its stage dirs go, how it checkpoints."""

    state: RunState
    stage_root: Callable[[], Path]
    branch_key: str = ""
    checkpoint: CheckpointWriter = _no_checkpoint
    # A completed stage's position, written with the next stage's in-flight entry
    # (``Checkpointer.write_with_next``), and the call that writes it when none follows.
    checkpoint_with_next: Callable[[str, str, Callable[[], None]], None] = _announce_now
    flush_checkpoint: Callable[[], None] = _nothing_held
    phase: str = "traversal"  # where a cancellation would find this lane
    liveness_key: str | None = None  # defaults to branch_key
    workdir: Path | None = None  # a branch's own workspace; None: the run's workdir

    def work_dir(self, services: RunServices) -> Path:
        return self.workdir or services.config.workdir

    @property
    def live_key(self) -> str:
        """This lane's key in the run's liveness tracker."""
        return self.branch_key if self.liveness_key is None else self.liveness_key


class SubRuns(Protocol):
    """How a stage starts more traversal: a parallel branch or a child run.

    Both run the traversal loop again, which is above the stage that asks for
    them. The top of the engine (``api``, ``resume``) hands the implementation
    in (``engine.subruns.SUBRUNS``) through the run's configuration, so no module
    below the traversal imports the traversal (tests/test_engine_layers.py).
    """

    async def run_branch(self, services: RunServices, parent: Lane, *, node_id: str,
                         pass_number: int, start: str, join: str, key: str, index: int,
                         context: Context) -> BranchResult:
        """Run one branch of a parallel node up to ``join`` (``engine.branches``)."""

    def finished_branches(self, pass_dir: Path) -> list[BranchResult]:
        """The branches of one dispatch that recorded how they ended, in that order."""

    def open_child(self, services: RunServices, lane: Lane, *, node_id: str, stage_dir: Path,
                   dot_path: Path, context: Mapping[str, Any] | None = None,
                   workdir: Path | None = None,
                   steered: bool = True) -> AbstractAsyncContextManager[Any]:
        """Start a sub-pipeline under ``{stage_dir}/child/`` (``engine.children``; with
        ``steered=False`` it may run on the run's executor, ``engine.child_dispatch``)."""
