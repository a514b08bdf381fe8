"""Attempt-scoped heartbeats.

The heartbeat task lives in the attempt's own nursery, so it is cancelled
before ``stage_attempt_end`` is emitted and can never speak for an attempt
that is over. A heartbeat is progress only when the attempt's output grew.
"""

from __future__ import annotations

import os
from pathlib import Path

import trio

from attractor_core.runtime.events import StageHeartbeat

from .services import Lane, RunServices
from .stage_run import AttemptRun


def output_bytes(stage_dir: Path) -> int:
    """Total size of the files an attempt writes in its stage dir (archives excluded)."""
    total = 0
    try:
        with os.scandir(stage_dir) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total


async def heartbeat(services: RunServices, lane: Lane, run: AttemptRun) -> None:
    interval = services.policy.effective_heartbeat.seconds
    started = last_output_at = trio.current_time()
    seen = 0
    while True:
        await trio.sleep(interval)
        size = max(run.output_bytes, output_bytes(run.stage_dir))
        now = trio.current_time()
        if size > seen:
            seen, last_output_at = size, now
            services.liveness.progress(lane.live_key)
        services.emit(StageHeartbeat(
            run.node.id, run.attempt, run.attempt_id, lane.state.restart_count,
            lane.branch_key, int((now - started) * 1000), int((now - last_output_at) * 1000),
            size))
