"""``RunState``: the mutable bookkeeping of one traversal, and its checkpoint form."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from attractor_core.model import Context, Outcome
from attractor_core.runtime.checkpoint import Checkpoint, InFlight, NodeRecord
from attractor_core.runtime.event_bus import utc_now_iso


def record_of(outcome: Outcome) -> NodeRecord:
    return NodeRecord(outcome.status.value, outcome.failure_reason, outcome.failure_class,
                      outcome.failure_signature, outcome.failed_node_id)


@define
class RunState:
    context: Context
    completed_nodes: list[str] = field(factory=list)
    node_outcomes: dict[str, NodeRecord] = field(factory=dict)
    node_retries: dict[str, int] = field(factory=dict)
    node_executions: dict[str, int] = field(factory=dict)
    crash_reruns: dict[str, int] = field(factory=dict)
    last_outcome: NodeRecord | None = None
    restart_count: int = 0
    last_score: float = 0.0  # the last outcome's details["score"], for fan-in ranking
    # Cycle-breaker counters: they survive resume and loop restarts (visits are per iteration).
    failure_signatures: dict[str, int] = field(factory=dict)
    restart_signatures: dict[str, int] = field(factory=dict)
    node_visits: dict[str, int] = field(factory=dict)

    def next_execution(self, node_id: str) -> int:
        self.node_executions[node_id] = self.node_executions.get(node_id, 0) + 1
        return self.node_executions[node_id]

    def to_checkpoint(self, run_id: str, current: str, next_node: str,
                      in_flight: InFlight | None) -> Checkpoint:
        return Checkpoint(
            run_id=run_id, timestamp=utc_now_iso(), current_node=current, next_node=next_node,
            completed_nodes=tuple(self.completed_nodes), node_outcomes=dict(self.node_outcomes),
            node_retries=dict(self.node_retries), node_executions=dict(self.node_executions),
            crash_reruns=dict(self.crash_reruns), in_flight=in_flight,
            last_outcome=self.last_outcome, context=self.context.snapshot(),
            logs=self.context.logs, restart_count=self.restart_count,
            failure_signatures=dict(self.failure_signatures),
            restart_signatures=dict(self.restart_signatures), node_visits=dict(self.node_visits),
        )

    @classmethod
    def from_checkpoint(cls, cp: Checkpoint) -> RunState:
        return cls(
            context=Context(cp.context, list(cp.logs)), completed_nodes=list(cp.completed_nodes),
            node_outcomes=dict(cp.node_outcomes), node_retries=dict(cp.node_retries),
            node_executions=dict(cp.node_executions), crash_reruns=dict(cp.crash_reruns),
            last_outcome=cp.last_outcome, restart_count=cp.restart_count,
            failure_signatures=dict(cp.failure_signatures),
            restart_signatures=dict(cp.restart_signatures), node_visits=dict(cp.node_visits),
        )


def mirror_graph_attributes(attrs: dict[str, str], context: Context) -> None:
    """Spec §5.1: graph attributes are visible to stages as ``graph.<key>``."""
    updates: dict[str, Any] = {f"graph.{k}": v for k, v in attrs.items()}
    context.apply_updates(updates)
