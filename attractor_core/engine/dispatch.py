"""The parent side of a parallel branch on an executor other than ``local``
(``attractor_core.executors``).

It keeps everything a local branch has: a lane in the run's liveness tree with
its own cancel scope (the stall watchdog cancels a remote branch as it cancels
a local one), progress relayed from the branch's ``executor.progress`` file, a
recorded ending read back instead of a second run. A lost worker sends the
branch out again, up to :data:`DISPATCHES` times; each dispatch continues from
the branch's own checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import trio

from attractor_core.executors import BranchWork, Executor, WorkerLostError
from attractor_core.model import Context
from attractor_core.model.branch import BranchResult
from attractor_core.runtime.events import BranchRedispatched

from .branches import branch_work, recorded_result
from .liveness import LivenessTracker
from .services import Lane, RunServices

# How many times a branch is sent out when the worker running it dies.
DISPATCHES = 3


async def dispatch_branch(services: RunServices, executor: Executor, parent: Lane, *,
                          node_id: str, pass_number: int, start: str, join: str, key: str,
                          index: int, context: Context) -> BranchResult:
    # What a process of its own needs beyond a local branch: the plugin state of the run
    # tree as of now, and the run's workspace for the worker to attach to.
    work = attrs.evolve(
        branch_work(services, parent, node_id=node_id, pass_number=pass_number, start=start,
                    join=join, key=key, index=index, context=context),
        enclosing_plugin_state=services.plugin_state_snapshot(),
        workspace=None if services.workspace is None else services.workspace.record())
    recorded, _ = recorded_result(work)
    if recorded is not None:  # ended in an earlier dispatch: never run twice
        return _handed_back(services, work, recorded)
    work.root.mkdir(parents=True, exist_ok=True)
    work.cancel_file.unlink(missing_ok=True)  # a stop asked of an earlier run of the branch
    live_key = work.live_key
    with trio.CancelScope() as scope:
        services.liveness.open_lane(live_key, parent=parent.live_key, scope=scope)
        try:
            result = await _dispatch(services, executor, work)
        finally:
            stalled = services.liveness.stalled_reason(live_key)
            services.liveness.close_lane(live_key)
    if scope.cancelled_caught:
        return BranchResult(key, index, start, "fail", stalled or "branch canceled",
                            "transient_infra" if stalled else "canceled",
                            logs_root=str(work.root))
    return _handed_back(services, work, result)


def _handed_back(services: RunServices, work: BranchWork, result: BranchResult) -> BranchResult:
    """The branch's plugin state into the run's, and a stop a plugin asked for in it."""
    key = services.sub_run_key(work.root)
    services.add_sub_run_plugin_state(key, result.plugins, ended=True)
    stop = result.stop_run
    if stop:
        services.add_sub_run_plugin_state(key, stop.get("plugins") or {}, ended=False)
        if services.stop_run is not None:
            services.stop_run(str(stop.get("exit_path", "")), str(stop.get("reason", "")),
                              str(stop.get("failure_class", "")), bool(stop.get("resumable")))
    return result


async def _dispatch(services: RunServices, executor: Executor,
                    work: BranchWork) -> BranchResult:
    poll = progress_poll(services)
    reason = ""
    for dispatch in range(1, DISPATCHES + 1):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay_progress, work.progress_file, services.liveness,
                               work.live_key, poll)
            try:
                return await executor.run_branch(work)
            except WorkerLostError as exc:
                reason = str(exc)
            finally:
                nursery.cancel_scope.cancel()
        recorded, _ = recorded_result(work)
        if recorded is not None:  # the worker died after the branch recorded its end
            return recorded
        if dispatch < DISPATCHES:
            services.emit(BranchRedispatched(work.branch_key, reason, dispatch + 1))
    return BranchResult(work.key, work.index, work.start, "fail", reason, "transient_infra",
                        logs_root=str(work.root))


def progress_poll(services: RunServices) -> float:
    """How often the parent reads a remote unit's progress file (seconds)."""
    return min(1.0, max(0.05, services.config.policy.stall_check_interval.seconds / 2))


async def relay_progress(path: Path, liveness: LivenessTracker, key: str,
                          poll: float) -> None:
    """A newer mtime of the branch's progress file is progress of its lane."""
    seen = _mtime(path)
    while True:
        await trio.sleep(poll)
        now = _mtime(path)
        if now != seen:
            seen = now
            liveness.progress(key)


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
