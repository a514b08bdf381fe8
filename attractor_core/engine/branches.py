"""Running one parallel branch: a lane of its own from a start node up to the join.

The branch traverses with the same attempt, retry and routing code as
the main path, on its own context clone, with stage dirs under
``{logs_root}/parallel/{node_id}/pass-N/{index}-{branch_key}/``. It stops
before the join node (or an exit node) and never executes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from attractor_core.model import Context
from attractor_core.model.branch import BranchResult

from .services import Lane, RunServices
from .state import RunState
from .traversal import traverse

# Keys the engine rewrites after every stage; they are not a branch's results.
_ENGINE_KEYS = frozenset({"outcome", "preferred_label", "failure_reason", "failure_class",
                          "failure_signature", "failed_node_id", "current_node"})


def branch_root(parent: Lane, node_id: str, pass_number: int, index: int, key: str) -> Path:
    """Under the parent lane's stage root: the logs root (or ``restart-N/``) for the main
    path, the enclosing branch's directory for a nested parallel node."""
    return parent.stage_root() / "parallel" / node_id / f"pass-{pass_number}" / f"{index}-{key}"


async def run_branch(services: RunServices, parent: Lane, *, node_id: str, pass_number: int,
                     start: str, join: str, key: str, index: int,
                     context: Context) -> BranchResult:
    """Run the branch to its end. A run cancellation propagates; a cancellation
    of this branch alone (the stall watchdog) becomes a failed result."""
    full_key = f"{parent.branch_key}/{key}" if parent.branch_key else key
    live_key = f"{parent.live_key}/{key}" if parent.live_key else key
    root = branch_root(parent, node_id, pass_number, index, key)
    root.mkdir(parents=True, exist_ok=True)
    state = RunState(context=context, restart_count=parent.state.restart_count)
    lane = Lane(state, lambda: root, branch_key=full_key, liveness_key=live_key)
    if services.workspace is not None:
        try:
            lane.workdir = await services.workspace.open_branch(
                node_id=node_id, pass_number=pass_number, index=index, key=full_key,
                branch_root=root, parent_workdir=parent.work_dir(services), emit=services.emit)
        except Exception as exc:
            return BranchResult(key, index, start, "fail",
                                f"cannot prepare the branch's workspace: {exc}",
                                "transient_infra", logs_root=str(root))
    before = context.shallow()
    t0 = trio.current_time()
    try:
        with trio.CancelScope() as scope:
            services.liveness.open_lane(live_key, parent=parent.live_key, scope=scope)
            try:
                ending = await traverse(services, lane, start, stop_at=join)
            finally:
                stalled = services.liveness.stalled_reason(live_key)
                services.liveness.close_lane(live_key)
    finally:
        if lane.workdir is not None and services.workspace is not None:
            # Also when the fan-out cancels this branch: its workspace is released.
            with trio.CancelScope(shield=True):
                state.workspace = await services.workspace.close_branch(
                    key=full_key, workdir=lane.workdir, emit=services.emit)
    duration_ms = int((trio.current_time() - t0) * 1000)
    if scope.cancelled_caught:
        return BranchResult(key, index, start, "fail", stalled or "branch canceled",
                            "transient_infra" if stalled else "canceled", last_node=_last(state),
                            completed_nodes=tuple(state.completed_nodes), logs_root=str(root),
                            duration_ms=duration_ms, workspace=state.workspace)
    last = state.last_outcome
    status = ending.status if ending.status != "success" or last is None else last.status
    return BranchResult(
        key, index, start, status, ending.failure_reason, ending.failure_class,
        ending.failure_signature, ending.failed_node_id, _last(state),
        tuple(state.completed_nodes), str(root), duration_ms, state.last_score,
        _changes(before, context.shallow()), state.workspace)


def _last(state: RunState) -> str:
    return state.completed_nodes[-1] if state.completed_nodes else ""


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Keys the branch set (updates replace values, so identity tells what changed)."""
    return {k: v for k, v in after.items()
            if k not in _ENGINE_KEYS and not k.startswith("internal.")
            and (k not in before or before[k] is not v)}
