"""Running one parallel branch: a lane of its own from a start node up to the join.

The branch traverses with the same attempt, retry and routing code as
the main path, on its own context clone, with stage dirs under
``{stage_root}/parallel/{node_id}/pass-N/{index}-{branch_key}/``. It stops
before the join node (or an exit node) and never executes it.

A branch checkpoints in its own directory with the main path's code
(``checkpoint.json`` plus ``checkpoint.journal``) and records how it ended
as one more entry of that journal (``branch_result``). When an interrupted
dispatch is continued (``resume``), a finished branch is read back from
its checkpoint and not run again, and a branch that was in flight
continues from its own last stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from attractor_core.executors import BranchWork
from attractor_core.model import Context, Outcome
from attractor_core.model.branch import BranchResult
from attractor_core.records import evolve
from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError
from attractor_core.runtime.rundir import branch_pass_dir

from .cancellation import is_cancellation
from .checkpointing import Checkpointer
from .continuation import CHECKPOINT_NAME, read_checkpoint, resume_point
from .services import Lane, RunServices
from .state import RunState
from .traversal import traverse

# Keys the engine rewrites after every stage; they are not a branch's results.
_ENGINE_KEYS = frozenset({"outcome", "preferred_label", "failure_reason", "failure_class",
                          "failure_signature", "failed_node_id", "current_node"})


def branch_root(parent: Lane, node_id: str, pass_number: int, index: int, key: str) -> Path:
    """Under the parent lane's stage root: the logs root (or ``restart-N/``) for the main
    path, the enclosing branch's directory for a nested parallel node."""
    return branch_pass_dir(parent.stage_root(), node_id, pass_number) / f"{index}-{key}"


def branch_work(services: RunServices, parent: Lane, *, node_id: str, pass_number: int,
                start: str, join: str, key: str, index: int, context: Context) -> BranchWork:
    """Where and what the branch is: everything needed to run it in another process."""
    root = branch_root(parent, node_id, pass_number, index, key)
    return BranchWork(
        logs_root=str(services.config.run_dir.root), node_id=node_id,
        pass_number=pass_number, start=start, join=join, key=key, index=index,
        branch_root=str(root),
        branch_key=f"{parent.branch_key}/{key}" if parent.branch_key else key,
        live_key=f"{parent.live_key}/{key}" if parent.live_key else key,
        restart_count=parent.state.restart_count, workdir=str(parent.work_dir(services)),
        context=context)


async def run_branch(services: RunServices, parent: Lane, *, node_id: str, pass_number: int,
                     start: str, join: str, key: str, index: int,
                     context: Context) -> BranchResult:
    """Run the branch to its end (or continue it, or read back its recorded result).
    A run cancellation propagates; a cancellation of this branch alone (the stall
    watchdog) becomes a failed result."""
    work = branch_work(services, parent, node_id=node_id, pass_number=pass_number,
                       start=start, join=join, key=key, index=index, context=context)
    return await run_branch_work_here(services, work, parent.live_key)


def recorded_result(work: BranchWork) -> tuple[BranchResult | None, Checkpoint | None]:
    """The branch's recorded ending if it has one (a failed result if its checkpoint
    cannot be read), else its checkpoint (None before its first stage)."""
    root = work.root
    try:
        checkpoint = read_checkpoint(root / CHECKPOINT_NAME)
    except CheckpointError as exc:
        # Its state is unknowable: running it again could repeat what it did. The branch
        # fails and the join policy decides, instead of the whole fan-out failing.
        return BranchResult(work.key, work.index, work.start, "fail", (
            f"cannot continue branch {work.key}: {exc}; counted as failed rather than run "
            f"again (inspect {root})"), "structural", logs_root=str(root)), None
    if checkpoint is not None and checkpoint.branch_result is not None:
        return checkpoint.branch_result, checkpoint
    return None, checkpoint


async def run_branch_work_here(services: RunServices, work: BranchWork,
                               parent_live_key: str | None, *,
                               own_plugin_state: bool = False) -> BranchResult:
    """Run ``work`` in this process, as a lane of ``services``. With
    ``own_plugin_state`` (a remote executor's side) the run-wide plugin state is the
    branch's own, kept in its checkpoint and returned in its result."""
    recorded, checkpoint = recorded_result(work)
    if recorded is not None:
        return recorded
    root, key, index, start, context = work.root, work.key, work.index, work.start, work.context
    node_id, pass_number, join = work.node_id, work.pass_number, work.join
    root.mkdir(parents=True, exist_ok=True)
    if checkpoint is None:
        state = RunState(context=context, restart_count=work.restart_count)
        first: tuple[str, Outcome | None] = (start, None)
    else:
        state = RunState.from_checkpoint(checkpoint)
        first = resume_point(checkpoint, state, services.config.graph, root)
    checkpoints = Checkpointer(root / CHECKPOINT_NAME, services.config.run_id, state,
                               journal_seq=_journal_seq(checkpoint))
    if own_plugin_state:  # one dict, so that what plugins change lands in the checkpoint
        services.plugin_state.update(state.plugins)
        state.plugins = services.plugin_state
    full_key = work.branch_key
    lane = Lane(state, lambda: root, branch_key=full_key, checkpoint=checkpoints.write,
                checkpoint_with_next=checkpoints.write_with_next,
                flush_checkpoint=checkpoints.flush, liveness_key=work.live_key)
    base = BranchResult(key, index, start, "", logs_root=str(root))
    if services.workspace is not None:
        try:
            lane.workdir = await services.workspace.open_branch(
                node_id=node_id, pass_number=pass_number, index=index, key=full_key,
                branch_root=root, parent_workdir=Path(work.workdir), emit=services.emit,
                resume_from=None if checkpoint is None else state.workspace)
        except Exception as exc:
            return evolve(base, status="fail", failure_class="transient_infra",
                          failure_reason=f"cannot prepare the branch's workspace: {exc}")
    before = context.shallow()  # the context the branch was given, to tell its changes
    try:
        result = await _traverse(services, lane, parent_live_key, first, join, base, before)
        result = evolve(result, workspace=await _release_workspace(services, lane),
                        plugins=state.plugins if own_plugin_state else {})
    except BaseException as exc:
        await _release_workspace(services, lane)
        if is_cancellation(exc):  # stopped on purpose: a resume does not count it a crash
            checkpoints.snapshot(stopped_cleanly=True)
        raise
    else:
        checkpoints.record_result(result)
    finally:
        checkpoints.close()
    return result


async def _release_workspace(services: RunServices, lane: Lane) -> dict[str, Any]:
    """Give the branch's workspace back (also when the fan-out cancels the branch)."""
    if lane.workdir is None or services.workspace is None:
        return lane.state.workspace
    workdir, lane.workdir = lane.workdir, None
    with trio.CancelScope(shield=True):
        lane.state.workspace = await services.workspace.close_branch(
            key=lane.branch_key, workdir=workdir, emit=services.emit)
    return lane.state.workspace


async def _traverse(services: RunServices, lane: Lane, parent_key: str | None,
                    first: tuple[str, Outcome | None], join: str, base: BranchResult,
                    before: dict[str, Any]) -> BranchResult:
    state, live_key = lane.state, lane.live_key
    t0 = trio.current_time()
    with trio.CancelScope() as scope:
        services.liveness.open_lane(live_key, parent=parent_key, scope=scope)
        try:
            ending = await traverse(services, lane, first[0], first[1], stop_at=join)
        finally:
            stalled = services.liveness.stalled_reason(live_key)
            services.liveness.close_lane(live_key)
    done = evolve(
        base, last_node=_last(state), completed_nodes=tuple(state.completed_nodes),
        duration_ms=int((trio.current_time() - t0) * 1000))
    if scope.cancelled_caught:
        return evolve(done, status="fail", failure_reason=stalled or "branch canceled",
                      failure_class="transient_infra" if stalled else "canceled")
    last = state.last_outcome
    status = ending.status if ending.status != "success" or last is None else last.status
    return evolve(done, status=status, failure_reason=ending.failure_reason,
                  failure_class=ending.failure_class,
                  failure_signature=ending.failure_signature,
                  failed_node_id=ending.failed_node_id, score=state.last_score,
                  context_updates=_changes(before, state.context.shallow()))


def _journal_seq(checkpoint: Checkpoint | None) -> int:
    return checkpoint.journal_seq if checkpoint is not None else 0


def finished_branches(pass_dir: Path) -> list[BranchResult]:
    """The branches of one dispatch whose checkpoint records how they ended, in the
    order they ended (by the time of that entry)."""
    ended = []
    for path in pass_dir.glob(f"*/{CHECKPOINT_NAME}"):
        try:
            cp = read_checkpoint(path)
        except CheckpointError:
            continue  # unreadable: the branch runs again when it is dispatched
        if cp is not None and cp.branch_result is not None:
            ended.append((cp.timestamp, cp.branch_result.index, cp.branch_result))
    return [result for *_, result in sorted(ended, key=lambda e: (e[0], e[1]))]


def _last(state: RunState) -> str:
    return state.completed_nodes[-1] if state.completed_nodes else ""


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Keys the branch set to a new value. Updates replace values, so identity usually
    tells; a branch restored from its checkpoint holds equal copies, so equality decides."""
    return {k: v for k, v in after.items()
            if k not in _ENGINE_KEYS and not k.startswith("internal.")
            and (k not in before or (before[k] is not v and before[k] != v))}
