"""How often a run lets the rest of the process run between stages that never wait.

Stages that complete without waiting (``simulate``, routing points) would otherwise keep
trio's scheduler from signals, the watchdog, heartbeats and the live view for as long as
the stretch lasts. A full scheduler pass (an ``epoll_wait`` and a run-queue turn) at every
attempt costs more than a tenth of such a stage, so an attempt yields only when the last
yield is ``interval`` seconds old; every attempt still honours a cancellation at once.
"""

from __future__ import annotations

import time

import trio

# Well under anything a person or the watchdog notices, and about twenty quick stages.
YIELD_INTERVAL_S = 0.005


class Yielding:
    """The run's schedule of yields between attempts."""

    __slots__ = ("_due", "_interval")

    def __init__(self, interval: float = YIELD_INTERVAL_S):
        self._interval = interval
        self._due = 0.0

    async def between_attempts(self) -> None:
        """Yield to the scheduler when the last yield is ``interval`` old; else only raise
        a pending cancellation (no attempt starts after one)."""
        now = time.monotonic()
        if now >= self._due:
            self._due = now + self._interval
            await trio.lowlevel.checkpoint()
        else:
            await trio.lowlevel.checkpoint_if_cancelled()
