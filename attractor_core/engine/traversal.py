"""The core loop (spec §3.2): execute a node, record it, pick the next hop.

The same loop drives the main path and each parallel branch; a
``Lane`` carries what differs between them.
"""

from __future__ import annotations

import attrs
import trio

from attractor_core.edge_selection import Route, gate_retry_target
from attractor_core.model import Context, Node, Outcome, StageStatus
from attractor_core.runtime.events import (
    CancellationExit,
    CheckpointSaved,
    EdgeSelected,
    GoalGateUnsatisfied,
)
from attractor_core.runtime.final import ExitPath

from .cancellation import is_cancellation
from .cycle_breaker import check_failure, check_visit
from .ending import Ending
from .goal_gates import unsatisfied_gates
from .restart import loop_restart
from .routing import route, stage_context_keys
from .services import Lane, RunServices
from .stage import run_node
from .state import record_of
from .topology import is_exit


async def traverse(services: RunServices, lane: Lane, start: str,
                   first_outcome: Outcome | None = None, stop_at: str = "") -> Ending:
    """Walk from ``start`` until the run ends, or (for a branch) until the next
    hop is ``stop_at``. ``first_outcome`` replaces the first node's execution
    (a resumed node that may not run again)."""
    current = start
    try:
        return await _walk(services, lane, current, first_outcome, stop_at)
    except BaseException as exc:
        if is_cancellation(exc):
            lane.flush_checkpoint()
            where = lane.phase if lane.phase != "traversal" or not lane.branch_key else "branch"
            services.emit(CancellationExit(where, lane.state.context.get_string("current_node"),
                                           lane.branch_key, _cancel_reason(services, lane)))
        raise
    finally:
        # The last completed stage's position, when no next stage's entry carried it.
        lane.flush_checkpoint()


async def _walk(services: RunServices, lane: Lane, current: str,
                first_outcome: Outcome | None, stop_at: str) -> Ending:
    while True:
        node = services.config.graph.nodes[current]
        if stop_at and (current == stop_at or is_exit(node)):
            return _branch_end(lane)
        looping = check_visit(services, lane, node)
        if looping is not None:
            return looping
        if is_exit(node):
            lane.flush_checkpoint()  # the edge here is announced before the gates' verdict
            jump = _gate_jump(services, lane, node)
            if isinstance(jump, Ending):
                return attrs.evolve(jump, exit_node=node.id)
            if jump:
                current = jump
                continue
        outcome = first_outcome or await run_node(services, lane, node)
        first_outcome = None
        await trio.lowlevel.checkpoint_if_cancelled()  # a cancelled run selects no edge
        finish_stage(lane.state.context, lane, node, outcome)
        if services.workspace is not None:
            await keep_stage_work(services, lane, node, outcome)
        broken = check_failure(services, lane, node, outcome)
        if broken is not None:
            lane.checkpoint(node.id, "", None)
            return broken
        if is_exit(node):
            lane.checkpoint(node.id, "", None)
            return Ending.success(exit_node=node.id)
        hop = route(node, outcome, lane.state.context, services.config.graph,
                    services.config.registry)
        if hop is None:
            lane.checkpoint(node.id, "", None)
            return _dead_end(lane, node, outcome)
        if hop.edge is not None and hop.edge.loop_restart:
            restarted = loop_restart(services, lane, node, hop)
            if isinstance(restarted, Ending):
                return restarted
        _advance(services, lane, node, hop)
        current = hop.target


def _cancel_reason(services: RunServices, lane: Lane) -> str:
    if services.cancel_reason:
        return services.cancel_reason
    stalled = services.liveness.stalled_reason(lane.live_key)
    if stalled:
        return stalled
    if lane.branch_key:
        return "branch canceled by its parallel node (early termination)"
    return "canceled"


def _advance(services: RunServices, lane: Lane, node: Node, hop: Route) -> None:
    """Checkpoint the completed stage with the next stage's first entry, then announce it
    and the edge taken (in that order, once the checkpoint is durable)."""
    saved = CheckpointSaved(node.id, len(lane.state.completed_nodes))
    edge = hop.edge
    selected = EdgeSelected(node.id, hop.target, hop.reason, hop.step,
                            edge.label if edge else "", edge.condition if edge else "",
                            lane.branch_key)

    def announce() -> None:
        with services.bus.grouped():
            services.emit(saved)
            services.emit(selected)

    lane.checkpoint_with_next(node.id, hop.target, announce)


def finish_stage(context: Context, lane: Lane, node: Node, outcome: Outcome) -> None:
    """Record the outcome and expose it to conditions and later stages (§3.2 step 4)."""
    state = lane.state
    record = record_of(outcome)
    state.completed_nodes.append(node.id)
    state.node_outcomes[node.id] = record
    state.last_outcome = record
    score = outcome.details.get("score", 0.0)
    state.last_score = float(score) if isinstance(score, int | float) else 0.0
    context.apply_updates(outcome.context_updates)
    context.apply_updates(stage_context_keys(outcome))


async def keep_stage_work(services: RunServices, lane: Lane, node: Node,
                          outcome: Outcome) -> None:
    """Let the workspace plugin keep what the stage changed (e.g. commit it); its record
    goes into the lane's state and so into the checkpoint written next."""
    assert services.workspace is not None
    record = await services.workspace.stage_completed(
        node_id=node.id, status=outcome.status.value, failure_class=outcome.failure_class,
        stage_dir=lane.stage_root() / node.id, workdir=lane.work_dir(services),
        branch_key=lane.branch_key, emit=services.emit)
    lane.state.workspace = record


def _gate_jump(services: RunServices, lane: Lane, node: Node) -> Ending | str:
    """At the exit: goal gates first, then refuse to turn a failure into success."""
    state = lane.state
    gates = unsatisfied_gates(services.config.graph, state.node_outcomes)
    if gates:
        target = gate_retry_target(gates[0], services.config.graph)
        services.emit(GoalGateUnsatisfied([g.id for g in gates], target))
        if target:
            return target
        ids = ", ".join(g.id for g in gates)
        return Ending.failed(ExitPath.GOAL_GATE_UNSATISFIED, state.node_outcomes[gates[0].id],
                             reason=f"goal gate unsatisfied ({ids}) and no retry target",
                             node_id=gates[0].id)
    last = state.last_outcome
    if last is not None and last.status == StageStatus.FAIL.value:
        return Ending.failed(ExitPath.STAGE_FAILED, last)
    return ""


def _branch_end(lane: Lane) -> Ending:
    """A branch that reached its join: it ends as its last stage did."""
    last = lane.state.last_outcome
    if last is not None and last.status == StageStatus.FAIL.value:
        return Ending.failed(ExitPath.STAGE_FAILED, last)
    return Ending.success()


def _dead_end(lane: Lane, node: Node, outcome: Outcome) -> Ending:
    if outcome.status is StageStatus.FAIL:
        return Ending.failed(ExitPath.STAGE_FAILED, lane.state.last_outcome)
    return Ending.success(ExitPath.DEAD_END)
