"""The stall watchdog: cancels a run, or a single branch, that stopped progressing.

The run stalls when no active lane has progressed for ``stall_timeout``.
A single branch idle that long while another lane progresses (made
progress within the last half ``stall_timeout``) is cancelled alone and
fails ``transient_infra``; its join policy decides what follows. When
every other lane is quiet too, the watchdog waits for them: that is a
stall of the whole run, not of one branch.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from attractor_core.model import Duration
from attractor_core.runtime.events import BranchStalled, Event, StallWatchdogTimeout

from .liveness import LivenessTracker


async def run_watchdog(tracker: LivenessTracker, stall_timeout: Duration,
                       check_interval: Duration, emit: Callable[[Event], None],
                       stall_run: Callable[[str], None]) -> None:
    timeout = stall_timeout.seconds
    while True:
        idle = tracker.idle_leaves()
        # Wake at the next check, or exactly when the next lane would reach the timeout.
        pending = [timeout - v for v in idle.values() if v < timeout]
        await trio.sleep(min([check_interval.seconds, *pending]))
        idle = tracker.idle_leaves()
        stalled = {k: v for k, v in idle.items() if v >= timeout}
        if not idle or not stalled:
            continue
        if len(stalled) == len(idle):
            idle_ms = int(min(stalled.values()) * 1000)
            emit(StallWatchdogTimeout(idle_ms, sorted(k or "main" for k in stalled)))
            stall_run(f"stall watchdog: no progress for {Duration(idle_ms)} "
                      f"(stall_timeout {stall_timeout})")
            return
        if not any(v < timeout / 2 for v in idle.values()):
            continue  # nobody is progressing: let the whole run reach its stall
        for key, seconds in stalled.items():
            emit(BranchStalled(key, int(seconds * 1000)))
            tracker.stall_branch(key, f"branch {key} stalled: no progress for "
                                      f"{Duration.of_seconds(seconds)}")
