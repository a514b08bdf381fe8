"""``RunState``: the mutable bookkeeping of one traversal, and its checkpoint form."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from attractor_core.model import Context, Outcome
from attractor_core.model.branch import BranchResult
from attractor_core.runtime.checkpoint import Checkpoint, InFlight, NodeRecord
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.serialization import CONVERTER
from attractor_core.runtime.tracked import TrackedDict


def record_of(outcome: Outcome) -> NodeRecord:
    return NodeRecord(outcome.name, outcome.failure_reason, outcome.failure_class,
                      outcome.failure_signature, outcome.failed_node_id, outcome.fan_out)


_RECORD_TO_JSON = CONVERTER.get_unstructure_hook(NodeRecord)


def _record_json(record: NodeRecord | None) -> dict[str, Any] | None:
    """``CONVERTER.unstructure(record)``, without the dispatch (a journal entry per stage
    carries one or two)."""
    if record is None:
        return None
    return _RECORD_TO_JSON(record)  # type: ignore[no-any-return]


def _records_json(changes: dict[str, NodeRecord | None]) -> dict[str, Any]:
    return {k: _record_json(v) for k, v in changes.items()}


_MAPS = ("node_outcomes", "node_retries", "node_executions", "crash_reruns",
         "failure_signatures", "restart_signatures", "node_visits")


@define
class RunState:
    """The maps are ``TrackedDict``s so a checkpoint can journal only what changed."""

    context: Context
    completed_nodes: list[str] = field(factory=list)
    node_outcomes: TrackedDict[NodeRecord] = field(factory=TrackedDict, converter=TrackedDict)
    node_retries: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    node_executions: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    crash_reruns: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    last_outcome: NodeRecord | None = None
    restart_count: int = 0
    last_score: float = 0.0  # the last outcome's details["score"], for fan-in ranking
    # Cycle-breaker counters: they survive resume and loop restarts (visits are per iteration).
    failure_signatures: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    restart_signatures: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    node_visits: TrackedDict[int] = field(factory=TrackedDict, converter=TrackedDict)
    branch_result: BranchResult | None = None  # set when a parallel branch ends
    # The node whose next attempt continues an interrupted one (set on resume; not saved).
    continuing: str = ""
    workspace: dict[str, Any] = field(factory=dict)  # the workspace plugin's last record
    # Run-wide plugin state by plugin name (``StageRun.plugin_state``); JSON values only.
    plugins: dict[str, Any] = field(factory=dict)
    # What the last snapshot already holds (journal bookkeeping).
    _snapshot_context: Context | None = None
    _completed_written: int = 0
    _logs_written: int = 0
    # The values of the rarely changing fields that the journal already holds.
    _scalars_written: tuple[Any, ...] = ()

    def next_execution(self, node_id: str) -> tuple[int, bool]:
        """The execution number of the node's next attempt, and whether that attempt
        continues an interrupted one: it then keeps the interrupted execution's number,
        so it finds the branches and the child run that execution started."""
        if self.continuing == node_id:
            self.continuing = ""
            return self.node_executions.get(node_id, 1), True
        self.node_executions[node_id] = self.node_executions.get(node_id, 0) + 1
        return self.node_executions[node_id], False

    def to_checkpoint(self, run_id: str, current: str, next_node: str,
                      in_flight: InFlight | None, *, journal_seq: int = 0,
                      stopped_cleanly: bool = False) -> Checkpoint:
        return Checkpoint(
            run_id=run_id, timestamp=utc_now_iso(), current_node=current, next_node=next_node,
            completed_nodes=tuple(self.completed_nodes), node_outcomes=dict(self.node_outcomes),
            node_retries=dict(self.node_retries), node_executions=dict(self.node_executions),
            crash_reruns=dict(self.crash_reruns), in_flight=in_flight,
            last_outcome=self.last_outcome, context=self.context.snapshot(),
            logs=self.context.logs, restart_count=self.restart_count,
            last_score=self.last_score, branch_result=self.branch_result,
            failure_signatures=dict(self.failure_signatures),
            restart_signatures=dict(self.restart_signatures), node_visits=dict(self.node_visits),
            journal_seq=journal_seq, stopped_cleanly=stopped_cleanly,
            workspace=dict(self.workspace), plugins=CONVERTER.unstructure(self.plugins),
        )

    def needs_snapshot(self) -> bool:
        """True after a change a journal entry cannot express (a map cleared, a new context)."""
        return (self.context is not self._snapshot_context
                or any(getattr(self, name).cleared for name in _MAPS))

    def mark_snapshot(self) -> None:
        for name in _MAPS:
            tracked = getattr(self, name)
            tracked.changed.clear()
            tracked.cleared = False
        self.context.take_changes()
        self._snapshot_context = self.context
        self._completed_written = len(self.completed_nodes)
        self._logs_written = len(self.context.logs)
        self._scalars_written = self._scalars()

    def _scalars(self) -> tuple[Any, ...]:
        return (self.last_outcome, self.restart_count, self.last_score, self.branch_result)

    def take_delta(self, current: str, next_node: str,
                   in_flight: InFlight | None) -> dict[str, Any]:
        """What changed since the last snapshot or delta, as a journal entry. A field that
        did not change is left out (replaying keeps the value from before)."""
        logs = self.context.logs
        maps: dict[str, Any] = {}
        for name in _MAPS:
            tracked = getattr(self, name)
            if tracked.changed:
                changes = tracked.take_changes()
                # The other maps hold ints (None for a removed key): JSON as they are.
                maps[name] = _records_json(changes) if name == "node_outcomes" else changes
        delta: dict[str, Any] = {
            "timestamp": utc_now_iso(), "current_node": current, "next_node": next_node,
            "in_flight": (None if in_flight is None
                          else {"node_id": in_flight.node_id, "attempt": in_flight.attempt}),
            # Plugins change these dicts in place: always written.
            "workspace": self.workspace,
            "plugins": self.plugins,
        }
        scalars = self._scalars()
        # Frozen values: equal means unchanged. A new outcome object (nearly every stage) is
        # taken as a change without comparing its fields.
        if scalars[0] is not self._scalars_written[0] or scalars != self._scalars_written:
            delta["last_outcome"] = _record_json(self.last_outcome)
            delta["restart_count"] = self.restart_count
            delta["last_score"] = self.last_score
            delta["branch_result"] = (None if self.branch_result is None
                                      else CONVERTER.unstructure(self.branch_result))
            self._scalars_written = scalars
        if len(self.completed_nodes) > self._completed_written:
            delta["completed"] = self.completed_nodes[self._completed_written:]
            self._completed_written = len(self.completed_nodes)
        if maps:
            delta["maps"] = maps
        context = self.context.take_changes()
        if context:
            delta["context"] = context
        if len(logs) > self._logs_written:
            delta["logs"] = logs[self._logs_written:]
            self._logs_written = len(logs)
        return delta

    @classmethod
    def from_checkpoint(cls, cp: Checkpoint) -> RunState:
        return cls(
            context=Context(cp.context, list(cp.logs)), completed_nodes=list(cp.completed_nodes),
            node_outcomes=cp.node_outcomes, node_retries=cp.node_retries,
            node_executions=cp.node_executions, crash_reruns=cp.crash_reruns,
            last_outcome=cp.last_outcome, restart_count=cp.restart_count,
            last_score=cp.last_score, branch_result=cp.branch_result,
            failure_signatures=cp.failure_signatures,
            restart_signatures=cp.restart_signatures, node_visits=cp.node_visits,
            workspace=dict(cp.workspace), plugins=dict(cp.plugins),
        )


def mirror_graph_attributes(attrs: dict[str, str], context: Context) -> None:
    """Spec §5.1: graph attributes are visible to stages as ``graph.<key>``."""
    updates: dict[str, Any] = {f"graph.{k}": v for k, v in attrs.items()}
    context.apply_updates(updates)
