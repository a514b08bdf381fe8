"""The manager loop handler (spec §4.11, ``shape=house``): supervise a child pipeline.

The child (``stack.child_dotfile`` on the node, else on the graph; relative
to the parent DOT file) runs as a nested run under ``{stage_dir}/child/``, in
this process whatever the run's executor: the loop reads its telemetry and
steers it through its memory (``open_child`` steered, the default).
Each cycle, up to ``manager.max_cycles``:

1. **observe** (action ``observe``): the child's telemetry goes into a
   view of the parent context under ``stack.child.*`` (and the spec's
   ``context.stack.child.*`` spelling), which is what
   ``manager.stop_condition`` is evaluated against;
2. the child finished -> the node ends as the child did (success, or fail
   with the child's reason); completion is noticed even without observe;
3. the stop condition holds -> the child is canceled and awaited, success;
4. **steer** (action ``steer``): ``manager.steer_prompt`` is handed to the
   child's next stage (its ``steer.md`` and context ``stack.steer``), at
   most once per ``manager.steer_cooldown``;
5. **wait** (action ``wait``): sleep ``manager.poll_interval``, waking
   early when the child finishes.

When the cycles run out the child is canceled and awaited and the node
fails. A child is never left running: leaving the loop for any reason
(cancellation included) cancels it and waits for it to stop. The
outcome's context updates carry the final telemetry, so later stages
and edge conditions see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import trio
from attrs import frozen

from attractor_core.sdk import (
    ConditionSyntaxError,
    Context,
    Duration,
    FailureClass,
    Graph,
    Node,
    Outcome,
    ParseError,
    PreflightSettings,
    StageRun,
    ValidationError,
    ValueFormatError,
    evaluate_condition,
    evolve,
    parse_condition,
)
from attractor_handlers.attribute_schema import DEFAULT_MAX_CYCLES
from attractor_handlers.attribute_schema import MANAGER_ACTIONS as ACTIONS
from attractor_handlers.events import ManagerLoopCycle, ManagerLoopFinished, ManagerSteer
from attractor_handlers.subgraph import child_outcome, invalid_child_reason

DEFAULT_POLL_INTERVAL = Duration.parse("45s")
NO_COOLDOWN = Duration(0)

# Read from the graph when the node does not set them.


class ManagerConfigError(ValueError):
    """The node's ``manager.*``/``stack.*`` attributes cannot be used; the message says the fix."""


@frozen
class ManagerSettings:
    child_dotfile: str
    child_workdir: str = ""
    poll_interval: Duration = DEFAULT_POLL_INTERVAL
    max_cycles: int = DEFAULT_MAX_CYCLES
    stop_condition: str = ""
    actions: frozenset[str] = frozenset({"observe", "wait"})
    steer_prompt: str = ""
    steer_cooldown: Duration = NO_COOLDOWN

    @classmethod
    def from_node(cls, node: Node, graph: Graph) -> ManagerSettings:
        try:
            return cls._read(node, graph)
        except (ValueFormatError, ConditionSyntaxError) as exc:
            raise ManagerConfigError(f"node {node.id}: {exc}") from None

    @classmethod
    def _read(cls, node: Node, graph: Graph) -> ManagerSettings:
        dotfile = (node.get("stack.child_dotfile") or graph.get("stack.child_dotfile")).strip()
        if not dotfile:
            raise ManagerConfigError(f"node {node.id}: no stack.child_dotfile; set it on the "
                                     "node or the graph (a path relative to this DOT file)")
        if not node.get_bool("stack.child_autostart", True):
            raise ManagerConfigError(f"node {node.id}: stack.child_autostart=false is not "
                                     "supported; the manager loop always starts its child")
        settings = cls(
            child_dotfile=dotfile,
            child_workdir=(node.get("stack.child_workdir")
                           or graph.get("stack.child_workdir")).strip(),
            poll_interval=node.get_duration("manager.poll_interval") or DEFAULT_POLL_INTERVAL,
            max_cycles=_max_cycles(node),
            stop_condition=parse_condition(node.get("manager.stop_condition")).text,
            actions=_actions(node),
            steer_prompt=node.get("manager.steer_prompt"),
            steer_cooldown=node.get_duration("manager.steer_cooldown") or NO_COOLDOWN)
        if "steer" in settings.actions and not settings.steer_prompt.strip():
            raise ManagerConfigError(f"node {node.id}: manager.actions includes steer but "
                                     "manager.steer_prompt is empty; write the instructions there")
        return settings


def _max_cycles(node: Node) -> int:
    value = node.get_int("manager.max_cycles")
    if value is None:
        return DEFAULT_MAX_CYCLES
    if value < 1:
        raise ManagerConfigError(f"node {node.id}: manager.max_cycles={value} must be at least 1")
    return value


def _actions(node: Node) -> frozenset[str]:
    raw = node.get("manager.actions", "observe,wait")
    names = [a.strip().lower() for a in raw.split(",") if a.strip()]
    unknown = [a for a in names if a not in ACTIONS]
    if unknown:
        raise ManagerConfigError(f"node {node.id}: unknown manager.actions {', '.join(unknown)}; "
                                 f"use a comma list of {', '.join(ACTIONS)}")
    return frozenset(names)


def telemetry_updates(telemetry: Mapping[str, Any], child_run_id: str) -> dict[str, Any]:
    """The child's telemetry as context keys ``stack.child.*`` and ``context.stack.child.*``.

    Per-node values get their own keys (``stack.child.node.<id>.outcome``,
    ``stack.child.retry_count.<id>``) so the condition language can test them.
    """
    completed = list(telemetry.get("completed_nodes", []))
    outcomes = dict(telemetry.get("node_outcomes", {}))
    retries = dict(telemetry.get("retry_counts", {}))
    keys: dict[str, Any] = {
        "stack.child.run_id": child_run_id,
        "stack.child.status": telemetry.get("status", ""),
        "stack.child.outcome": telemetry.get("outcome", ""),
        "stack.child.active_stage": telemetry.get("active_stage", ""),
        "stack.child.completed_nodes": completed,
        "stack.child.completed_count": len(completed),
        "stack.child.node_outcomes": outcomes,
        "stack.child.retry_counts": retries,
        "stack.child.restart_count": telemetry.get("restart_count", 0),
        "stack.child.failure_reason": telemetry.get("failure_reason", ""),
    }
    keys.update({f"stack.child.node.{n}.outcome": s for n, s in outcomes.items()})
    keys.update({f"stack.child.retry_count.{n}": c for n, c in retries.items()})
    return {**keys, **{f"context.{k}": v for k, v in keys.items()}}


class ManagerLoopHandler:
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False

    def preflight(self, node: Node, graph: Graph, run: PreflightSettings) -> Sequence[str]:
        """The supervised child pipeline's own nodes can run."""
        dotfile = (node.get("stack.child_dotfile") or graph.get("stack.child_dotfile")).strip()
        return [f"in {dotfile}: {p}" for p in run.child_problems(dotfile)] if dotfile else []

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        try:
            settings = ManagerSettings.from_node(node, graph)
        except ManagerConfigError as exc:
            return Outcome.fail(str(exc), FailureClass.STRUCTURAL.value)
        workdir = run.workdir / settings.child_workdir if settings.child_workdir else None
        try:
            async with run.open_child(settings.child_dotfile, workdir=workdir) as child:
                supervisor = Supervisor(run, node.id, settings, child, context.clone())
                outcome = await supervisor.supervise()
        except (ParseError, ValidationError) as exc:
            return Outcome.fail(invalid_child_reason(node, settings.child_dotfile, exc),
                                FailureClass.STRUCTURAL.value)
        run.emit(ManagerLoopFinished(node.id, supervisor.cycle, outcome.status.value,
                                     outcome.failure_reason or outcome.notes))
        return outcome


class Supervisor:
    """One manager loop over one running child (``child`` is a ``ChildHandle``)."""

    def __init__(self, run: StageRun, node_id: str, settings: ManagerSettings, child: Any,
                 view: Context):
        self.run, self.node_id, self.settings = run, node_id, settings
        self.child, self.view = child, view  # view: parent context + child telemetry
        self.cycle = 0
        self.last_steer: float | None = None

    async def supervise(self) -> Outcome:
        settings = self.settings
        for self.cycle in range(1, settings.max_cycles + 1):
            telemetry = self._observe()
            if telemetry["status"] != "running":
                return self._child_ended(telemetry)
            if settings.stop_condition and evaluate_condition(settings.stop_condition, None,
                                                              self.view):
                return await self._stop_child()
            if "steer" in settings.actions:
                self._steer(telemetry)
            await self._wait()
        return await self._out_of_cycles()

    def _observe(self) -> dict[str, Any]:
        telemetry: dict[str, Any] = self.child.telemetry()
        if "observe" in self.settings.actions:
            self.view.apply_updates(telemetry_updates(telemetry, self.child.run_id))
        self.run.emit(ManagerLoopCycle(self.node_id, self.cycle, self.settings.max_cycles,
                                       telemetry["status"], telemetry.get("active_stage", "")))
        return telemetry

    def _child_ended(self, telemetry: Mapping[str, Any]) -> Outcome:
        outcome = child_outcome(self.child.final, self.child.run_id)
        updates = telemetry_updates(telemetry, self.child.run_id)
        if outcome.failure_reason:
            return evolve(outcome, context_updates=updates)
        return evolve(outcome, context_updates=updates,
                      notes=f"child pipeline completed at cycle {self.cycle}")

    async def _stop_child(self) -> Outcome:
        condition = self.settings.stop_condition
        await self._cancel_child(f"stop condition satisfied: {condition}")
        updates = telemetry_updates(self.child.telemetry(), self.child.run_id)
        return Outcome.success(f"stop condition satisfied at cycle {self.cycle}: {condition}",
                               context_updates=updates)

    async def _out_of_cycles(self) -> Outcome:
        where = self.child.telemetry().get("active_stage", "")
        await self._cancel_child(f"manager loop max cycles ({self.settings.max_cycles}) reached")
        updates = telemetry_updates(self.child.telemetry(), self.child.run_id)
        return Outcome.fail(f"manager loop: max cycles ({self.settings.max_cycles}) reached with "
                            f"the child still running (at {where or 'no stage'})",
                            FailureClass.DETERMINISTIC.value, context_updates=updates)

    async def _cancel_child(self, reason: str) -> None:
        self.child.cancel(reason)
        await self.child.wait()

    def _steer(self, telemetry: Mapping[str, Any]) -> None:
        now = trio.current_time()
        cooldown = self.settings.steer_cooldown.seconds
        if self.last_steer is not None and now - self.last_steer < cooldown:
            return
        text = self.settings.steer_prompt
        self.child.steer(text)
        self.last_steer = now
        self.run.emit(ManagerSteer(self.node_id, self.cycle, telemetry.get("active_stage", ""),
                                   len(text.encode())))

    async def _wait(self) -> None:
        if "wait" not in self.settings.actions or self.cycle == self.settings.max_cycles:
            await trio.lowlevel.checkpoint()
            return
        # Wake at the poll interval, or as soon as the child finishes.
        with trio.move_on_after(self.settings.poll_interval.seconds):
            await self.child.wait()
