"""Typed run events.

Each event is a frozen attrs class whose ``name`` is the ``event`` field of
its JSON form. The :class:`~attractor_core.runtime.event_bus.EventBus`
adds the envelope (``event``, ``ts``, ``run_id``, ``seq``). This module holds
the events the engine itself emits (:data:`ALL_EVENTS`); a plugin defines the
events it emits in its own package, subclassing :class:`Event`, and declares
them through the ``attractor_event_types`` hook. docs/events.md documents
both; a test keeps it equal to the code.
"""

from __future__ import annotations

from typing import Any, ClassVar

from attrs import field, frozen

from attractor_core.model.values import to_str_tuple


@frozen
class Event:
    name: ClassVar[str] = ""


# -- run lifecycle -----------------------------------------------------------
@frozen
class RunStarted(Event):
    name: ClassVar[str] = "run_started"
    graph_name: str
    goal: str
    dot_file: str
    logs_root: str
    workdir: str
    resumed: bool = False
    restart_count: int = 0
    # The workspace plugin's record (where the run works: its branch, its worktree...).
    workspace: dict[str, Any] = field(factory=dict)


@frozen
class RunCompleted(Event):
    name: ClassVar[str] = "run_completed"
    status: str
    exit_path: str
    duration_ms: int
    completed_nodes: int


@frozen
class RunFailed(Event):
    name: ClassVar[str] = "run_failed"
    status: str
    exit_path: str
    failure_reason: str
    failure_class: str
    failed_node_id: str
    duration_ms: int


@frozen
class RunCanceled(RunFailed):
    """A cancellation: what ``run_failed`` says, and the command that continues the run."""

    name: ClassVar[str] = "run_canceled"
    resume_command: str


@frozen
class LoopRestart(Event):
    name: ClassVar[str] = "loop_restart"
    from_node: str
    to_node: str
    restart_count: int
    logs_dir: str


@frozen
class CheckpointSaved(Event):
    name: ClassVar[str] = "checkpoint_saved"
    node_id: str
    completed_nodes: int


# -- stage lifecycle ---------------------------------------------------------
@frozen
class StageAttemptStart(Event):
    name: ClassVar[str] = "stage_attempt_start"
    node_id: str
    handler_type: str
    attempt: int
    attempt_id: str
    branch_key: str = ""
    visit: int = 0


@frozen
class StageAttemptEnd(Event):
    name: ClassVar[str] = "stage_attempt_end"
    node_id: str
    attempt: int
    attempt_id: str
    status: str
    duration_ms: int
    failure_reason: str = ""
    failure_class: str = ""
    branch_key: str = ""
    visit: int = 0
    failed_node_id: str = ""
    routing_point: bool = False


@frozen
class RetryDecision(Event):
    name: ClassVar[str] = "retry_decision"
    node_id: str
    attempt: int
    will_retry: bool
    failure_class: str
    reason: str
    max_retries: int


@frozen
class StageRetrySleep(Event):
    name: ClassVar[str] = "stage_retry_sleep"
    node_id: str
    attempt: int
    delay_ms: int


@frozen
class EdgeSelected(Event):
    """``reason`` says which rule chose the edge: ``condition``, ``preferred_label``,
    ``suggested_next_ids``, ``weight``, ``lexical``, ``fail_edge`` or ``retry_target``;
    ``step`` is the §3.3 step (1-5), or 0 for failure routing."""

    name: ClassVar[str] = "edge_selected"
    from_node: str
    to_node: str
    reason: str
    step: int
    label: str = ""
    condition: str = ""
    branch_key: str = ""


@frozen
class GoalGateUnsatisfied(Event):
    name: ClassVar[str] = "goal_gate_unsatisfied"
    node_ids: tuple[str, ...] = field(converter=to_str_tuple)
    retry_target: str


# -- warnings ------------------------------------------------------------------
@frozen
class Warning(Event):
    """Something odd that did not stop the run (an unknown status.json key...)."""

    name: ClassVar[str] = "warning"
    message: str
    node_id: str = ""


# -- liveness and cancellation -------------------------------------------------
@frozen
class StageHeartbeat(Event):
    """Emitted every heartbeat interval while an attempt runs; never after its
    ``stage_attempt_end``. Only output growth counts as progress."""

    name: ClassVar[str] = "stage_heartbeat"
    node_id: str
    attempt: int
    attempt_id: str
    run_generation: int
    branch_key: str
    elapsed_ms: int
    since_last_output_ms: int
    output_bytes: int


@frozen
class StallWatchdogTimeout(Event):
    name: ClassVar[str] = "stall_watchdog_timeout"
    idle_ms: int
    stalled_branches: tuple[str, ...] = field(converter=to_str_tuple)


@frozen
class BranchStalled(Event):
    """One parallel branch made no progress for stall_timeout while siblings did."""

    name: ClassVar[str] = "branch_stalled"
    branch_key: str
    idle_ms: int


@frozen
class BranchRedispatched(Event):
    """The worker running a remote parallel branch died; the branch is sent out again
    (``dispatch`` is 2 for the second time) and continues from its own checkpoint."""

    name: ClassVar[str] = "branch_redispatched"
    branch_key: str
    reason: str
    dispatch: int


@frozen
class CancellationExit(Event):
    """A traversal stopped because of a cancellation. ``where`` is ``attempt``,
    ``retry_sleep``, ``traversal`` or ``branch``."""

    name: ClassVar[str] = "cancellation_exit"
    where: str
    node_id: str
    branch_key: str
    reason: str


# -- sub-pipelines -------------------------------------------------------------
@frozen
class ChildRunEvent(Event):
    """An event of a sub-pipeline run, forwarded into the parent's stream."""

    name: ClassVar[str] = "child_run_event"
    node_id: str
    child_run_id: str
    child_event: dict[str, Any] = field(factory=dict)


# -- status ingestion and cycle breakers ----------------------------------------
@frozen
class StatusIngestionDecision(Event):
    """Which status file decided an attempt. Each candidate is ``{source, path,
    state}`` with state ``missing|valid|malformed|stale|foreign``;
    ``chosen_source`` is a source name, ``handler``, ``auto_status`` or ``none``."""

    name: ClassVar[str] = "status_ingestion_decision"
    node_id: str
    attempt: int
    chosen_source: str
    candidates: tuple[dict[str, str], ...]
    ownership_result: str  # match | no_fields | mismatch | not_applicable
    copied_to_canonical: bool


@frozen
class CycleCheck(Event):
    """A deterministic or structural failure (``kind=failure``) or a failed
    loop restart (``kind=restart``) was counted against its signature."""

    name: ClassVar[str] = "cycle_check"
    kind: str
    node_id: str
    signature: str
    count: int
    limit: int
    failure_class: str
    branch_key: str = ""


@frozen
class CycleBreaker(Event):
    name: ClassVar[str] = "cycle_breaker"
    kind: str
    node_id: str
    signature: str
    count: int
    limit: int
    branch_key: str = ""


@frozen
class NodeVisitBreaker(Event):
    name: ClassVar[str] = "node_visit_breaker"
    node_id: str
    visits: int
    limit: int
    branch_key: str = ""


@frozen
class LoopRestartBlocked(Event):
    name: ClassVar[str] = "loop_restart_blocked"
    node_id: str
    target_node: str
    failure_class: str
    failure_reason: str


# -- processes ---------------------------------------------------------------
@frozen
class CancellationEscalated(Event):
    name: ClassVar[str] = "cancellation_escalated"
    signal: str
    killed_groups: int


@frozen
class StaleProcessGroupsStopped(Event):
    name: ClassVar[str] = "stale_process_groups_stopped"
    groups: tuple[dict[str, Any], ...]
    kill_grace_ms: int


ALL_EVENTS: tuple[type[Event], ...] = (
    RunStarted,
    RunCompleted,
    RunFailed,
    RunCanceled,
    LoopRestart,
    CheckpointSaved,
    StageAttemptStart,
    StageAttemptEnd,
    RetryDecision,
    StageRetrySleep,
    EdgeSelected,
    GoalGateUnsatisfied,
    Warning,
    StageHeartbeat,
    StallWatchdogTimeout,
    BranchStalled,
    BranchRedispatched,
    CancellationExit,
    ChildRunEvent,
    StatusIngestionDecision,
    CycleCheck,
    CycleBreaker,
    NodeVisitBreaker,
    LoopRestartBlocked,
    CancellationEscalated,
    StaleProcessGroupsStopped,
)


def event_fields(cls: type[Event]) -> dict[str, Any]:
    """Field name -> attrs field, for documentation and tests."""
    import attrs

    return {f.name: f for f in attrs.fields(cls)}
