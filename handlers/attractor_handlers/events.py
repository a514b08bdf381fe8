"""The events of the built-in handlers (documented in docs/events.md).

The human gate, the parallel fan-out and the manager loop emit these through
``run.emit``; the ``attractor_event_types`` hook of the handlers' entry point
declares them, so tooling that lists every event (docs/events.md's parity
test) finds them without the kernel knowing their names.
"""

from __future__ import annotations

from typing import ClassVar

from attrs import field, frozen

from attractor_core.sdk import Event, to_str_tuple


# -- human gates -----------------------------------------------------------
@frozen
class InterviewStarted(Event):
    name: ClassVar[str] = "interview_started"
    node_id: str
    question: str
    options: tuple[str, ...] = field(converter=to_str_tuple, default=())


@frozen
class InterviewCompleted(Event):
    name: ClassVar[str] = "interview_completed"
    node_id: str
    question: str
    answer: str
    duration_ms: int


@frozen
class InterviewTimeout(Event):
    name: ClassVar[str] = "interview_timeout"
    node_id: str
    question: str
    duration_ms: int
    default_choice: str = ""


# -- parallel fan-out ------------------------------------------------------
@frozen
class ParallelStarted(Event):
    name: ClassVar[str] = "parallel_started"
    node_id: str
    branch_count: int
    join_node: str
    join_policy: str
    error_policy: str
    max_parallel: int


@frozen
class ParallelBranchStarted(Event):
    name: ClassVar[str] = "parallel_branch_started"
    node_id: str
    branch_key: str
    index: int
    start_node: str


@frozen
class ParallelBranchCompleted(Event):
    name: ClassVar[str] = "parallel_branch_completed"
    node_id: str
    branch_key: str
    index: int
    status: str
    duration_ms: int
    failure_reason: str = ""


@frozen
class ParallelCompleted(Event):
    name: ClassVar[str] = "parallel_completed"
    node_id: str
    status: str
    duration_ms: int
    success_count: int
    failure_count: int
    canceled_count: int


@frozen
class EarlyTermination(Event):
    name: ClassVar[str] = "early_termination"
    node_id: str
    reason: str
    finished: int
    total: int


# -- manager loop ----------------------------------------------------------
@frozen
class ManagerLoopCycle(Event):
    name: ClassVar[str] = "manager_loop_cycle"
    node_id: str
    cycle: int
    max_cycles: int
    child_status: str
    active_stage: str


@frozen
class ManagerSteer(Event):
    """Instructions were handed to the child's next stage."""

    name: ClassVar[str] = "manager_steer"
    node_id: str
    cycle: int
    active_stage: str
    text_bytes: int


@frozen
class ManagerLoopFinished(Event):
    name: ClassVar[str] = "manager_loop_finished"
    node_id: str
    cycles: int
    status: str
    reason: str


HANDLER_EVENTS: tuple[type[Event], ...] = (
    InterviewStarted,
    InterviewCompleted,
    InterviewTimeout,
    ParallelStarted,
    ParallelBranchStarted,
    ParallelBranchCompleted,
    ParallelCompleted,
    EarlyTermination,
    ManagerLoopCycle,
    ManagerSteer,
    ManagerLoopFinished,
)
