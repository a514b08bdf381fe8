"""Sub-pipelines: a child run nested in a stage, under ``{stage_dir}/child/``.

The child shares the parent's plugins, policy and liveness tree (so the
parent's stall watchdog watches it and a parent cancellation cancels it),
keeps its own artifacts (manifest, checkpoint, final, progress), and
forwards every event into the parent's stream as ``child_run_event``.
Its plugin state is its own; while it runs, it is listed in the run tree's
``running_sub_runs``, so its stages see the parent's (and the parent's
enclosing runs') and the other running sub-pipelines' through
``enclosing_plugin_states``, and theirs see its own. A plugin's
``stop_run`` in it stops the parent too, and when it ends its plugin state
is merged into the parent's (``attractor_merge_plugin_state``).
A :class:`ChildHandle` lets a supervisor observe and steer it. When the
enclosing stage continues an interrupted attempt (``resume``), the child it
had started is continued from its own checkpoint, or read back if it ended.

A child that its stage only waits for may run on the run's executor instead
(``engine.child_dispatch`` in the parent, ``engine.remote_child`` on the
worker), set up by the same :func:`prepare_child` and :func:`child_plan`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import attrs
import trio
from attrs import frozen

from attractor_core.model import Context, Graph, Outcome
from attractor_core.pipeline import load_pipeline
from attractor_core.registry import HandlerRegistry
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.events import ChildRunEvent
from attractor_core.runtime.final import FinalRecord, read_final
from attractor_core.runtime.manifest import Manifest, write_manifest
from attractor_core.runtime.rundir import CHILD_DIR, RunDir
from attractor_core.validation import Diagnostic, Severity, ValidationError

from .continuation import read_checkpoint, resume_point
from .ingestion import status_sources
from .run import Engine
from .services import Lane, RunServices
from .setup import event_bus
from .state import RunState, mirror_graph_attributes
from .topology import find_start


class ChildHandle:
    """A running child pipeline, as its supervisor sees it."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self.final: FinalRecord | None = None
        self._done = trio.Event()

    @property
    def run_id(self) -> str:
        return self._engine.services.config.run_id

    def telemetry(self) -> dict[str, Any]:
        """Status (running/completed/failed/canceled), active stage, outcomes, retry counts."""
        state = self._engine.state
        status = "running"
        if self.final is not None:
            status = {"success": "completed", "fail": "failed"}.get(self.final.status,
                                                                     self.final.status)
        return {
            "status": status,
            "outcome": self.final.status if self.final else "",
            "active_stage": state.context.get_string("current_node"),
            "completed_nodes": list(state.completed_nodes),
            "node_outcomes": {k: v.status for k, v in state.node_outcomes.items()},
            "retry_counts": dict(state.node_retries),
            "restart_count": state.restart_count,
            "failure_reason": self.final.failure_reason if self.final else "",
        }

    def steer(self, instructions: str) -> None:
        """Deliver ``instructions`` to the child's next stage (steer.md, ``stack.steer``)."""
        self._engine.services.steering.append(instructions)

    def cancel(self, reason: str = "stopped by its supervisor") -> None:
        self._engine.cancel(reason)

    async def wait(self) -> FinalRecord:
        await self._done.wait()
        assert self.final is not None
        return self.final

    async def _run(self, plan: ChildPlan) -> None:
        try:
            self.final = await self._engine.execute(plan.start, resumed=plan.resumed,
                                                    first_outcome=plan.first)
        finally:
            self._done.set()

    def _ended(self, final: FinalRecord) -> None:
        """The child had ended before its parent's attempt was interrupted."""
        self.final = final
        self._done.set()


@frozen
class ChildPlan:
    """How a child run starts: afresh, continued from its checkpoint, or already ended."""

    state: RunState
    start: str
    first: Outcome | None = None
    resumed: bool = False
    journal_seq: int = 0
    final: FinalRecord | None = None


def _seeded_state(graph: Graph, context: Mapping[str, Any] | None) -> RunState:
    state = RunState(context=Context(dict(context or {})))
    mirror_graph_attributes(dict(graph.attrs), state.context)
    return state


def _continue(run_dir: RunDir, graph: Graph, context: Mapping[str, Any] | None) -> ChildPlan:
    """The child of an interrupted attempt: read back if it ended, else continued from
    its own checkpoint. Raises ``CheckpointError`` if that cannot be read."""
    checkpoint = read_checkpoint(run_dir.checkpoint)
    state = RunState.from_checkpoint(checkpoint) if checkpoint else _seeded_state(graph, context)
    final = read_final(run_dir.final)
    if final is not None and not final.can_resume:
        return ChildPlan(state, "", final=final)
    start, first = resume_point(checkpoint, state, graph,
                                run_dir.stage_root(state.restart_count))
    run_dir.final.unlink(missing_ok=True)
    return ChildPlan(state, start, first, resumed=True,
                     journal_seq=checkpoint.journal_seq if checkpoint else 0)


def _chain(services: RunServices) -> tuple[Path, ...]:
    own = services.config.dot_path.resolve() if services.config.dot_path is not None else None
    return services.config.ancestry or ((own,) if own is not None else ())


def _refuse_cycle(services: RunServices, dot_path: Path, node_id: str) -> None:
    """A pipeline that (indirectly) runs itself would nest forever."""
    chain = _chain(services)
    if dot_path.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, dot_path))
        node = services.config.graph.nodes.get(node_id)
        raise ValidationError([Diagnostic(
            rule="subgraph_cycle", severity=Severity.ERROR, node_id=node_id,
            file=str(services.config.dot_path or ""), line=node.line if node else 0,
            message=f"sub-pipeline cycle: {names}",
            fix="a sub-pipeline must not include a pipeline that encloses it")])


@frozen
class PreparedChild:
    """A child run about to start: its graph, run directory, id and workdir;
    ``continuing`` when the enclosing stage continues an interrupted attempt."""

    graph: Graph
    run_dir: RunDir
    run_id: str
    workdir: Path
    continuing: bool
    ancestry: tuple[Path, ...]


def prepare_child(services: RunServices, lane: Lane, *, node_id: str, stage_dir: Path,
                  dot_path: Path, workdir: Path | None) -> PreparedChild:
    """Check and load the child graph and write its manifest (unless it is being continued).

    Raises ``ParseError`` or ``ValidationError`` if the child graph is invalid.
    """
    _refuse_cycle(services, dot_path, node_id)
    graph = load_pipeline(dot_path, services.config.pm)
    run_dir = RunDir(stage_dir / CHILD_DIR)
    run_id = f"{services.config.run_id}.{node_id}"
    work = workdir or lane.work_dir(services)
    work.mkdir(parents=True, exist_ok=True)  # stack.child_workdir may name a new directory
    continuing = run_dir.manifest.exists()  # the stage continues an interrupted attempt
    if not continuing:
        run_dir.root.mkdir(parents=True, exist_ok=True)
        write_manifest(run_dir.manifest, Manifest(
            run_id=run_id, graph_name=graph.name, goal=graph.goal, dot_file=str(dot_path),
            workdir=str(work), logs_root=str(run_dir.root), started_at=utc_now_iso()))
    return PreparedChild(graph, run_dir, run_id, work, continuing,
                         (*_chain(services), dot_path))


def child_plan(run_dir: RunDir, graph: Graph, context: Mapping[str, Any] | None,
               continuing: bool) -> ChildPlan:
    if continuing:
        return _continue(run_dir, graph, context)
    return ChildPlan(_seeded_state(graph, context), find_start(graph).id)


def child_lane_key(lane: Lane, node_id: str) -> str:
    return f"{lane.live_key}/{node_id}.child" if lane.live_key else f"{node_id}.child"


@asynccontextmanager
async def open_child(services: RunServices, lane: Lane, *, node_id: str, stage_dir: Path,
                     dot_path: Path, context: Mapping[str, Any] | None = None,
                     workdir: Path | None = None) -> AsyncIterator[ChildHandle]:
    """Start the child run in this process; on exit, cancel it if it is still running
    and wait for it.

    Raises ``ParseError`` or ``ValidationError`` if the child graph is invalid.
    """
    child_run = prepare_child(services, lane, node_id=node_id, stage_dir=stage_dir,
                              dot_path=dot_path, workdir=workdir)
    graph, run_dir, run_id = child_run.graph, child_run.run_dir, child_run.run_id
    # The parent's plugins, policy, options and sub-runs; handler and status-source
    # instances of its own, as any run has.
    config = attrs.evolve(
        services.config, graph=graph, run_id=run_id, run_dir=run_dir,
        workdir=child_run.workdir, dot_path=dot_path, ancestry=child_run.ancestry,
        registry=HandlerRegistry.from_plugins(services.config.pm),
        status_sources=status_sources(services.config.pm),
        executor=None)  # a sub-pipeline's branches run where the sub-pipeline runs
    bus = event_bus(config, lambda e: services.emit(ChildRunEvent(node_id, run_id, dict(e))))
    plan = child_plan(run_dir, graph, context, child_run.continuing)
    engine = Engine(config, bus, plan.state, started_at=utc_now_iso(), parent=services,
                    lane_key=child_lane_key(lane, node_id), parent_lane=lane.live_key,
                    journal_seq=plan.journal_seq)
    handle = ChildHandle(engine)
    if plan.final is None:  # it runs: its spend counts live for the rest of the run's tree
        services.running_sub_runs[str(run_dir.root)] = engine.services.plugin_state
    async with supervise_child(services, run_dir, handle, plan.final,
                               partial(handle._run, plan),
                               lambda: handle.final or engine.final_record):
        yield handle


class SupervisedChild(Protocol):
    """What :func:`supervise_child` needs of a child's handle, local or remote."""

    final: FinalRecord | None

    def cancel(self, reason: str = ...) -> None: ...

    def _ended(self, final: FinalRecord) -> None: ...


@asynccontextmanager
async def supervise_child(services: RunServices, run_dir: RunDir, handle: SupervisedChild,
                          ended: FinalRecord | None, start: Callable[[], Awaitable[None]],
                          last_final: Callable[[], FinalRecord | None]) -> AsyncIterator[None]:
    """Run a child (``start``) unless it had ``ended``; on exit cancel it if it is still
    running and wait for it, then hand its plugin state (from ``last_final()``) back to
    the parent's."""
    try:
        async with trio.open_nursery() as nursery:
            if ended is not None:
                handle._ended(ended)
            else:
                nursery.start_soon(start)
            try:
                yield
            finally:
                if handle.final is None:
                    handle.cancel()
    finally:
        _hand_back_plugin_state(services, run_dir, last_final())


def _hand_back_plugin_state(parent: RunServices, run_dir: RunDir,
                            final: FinalRecord | None) -> None:
    """The child's plugin state into the parent's: for good when it ended, for the
    parent's final.json only when it can be continued (a resume counts it then)."""
    parent.running_sub_runs.pop(str(run_dir.root), None)
    if final is None:
        return
    parent.add_sub_run_plugin_state(parent.sub_run_key(run_dir.root), final.plugins,
                                    ended=not final.can_resume)
