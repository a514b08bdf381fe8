"""Attempt-scoped heartbeats, from one ticker per run.

An attempt is on the :class:`HeartbeatBoard` exactly while it runs: it
joins before its handler starts and leaves before ``stage_attempt_end``
is emitted, so no heartbeat can speak for an attempt that is over. One
ticker task per engine serves every attempt on its board (the main path
and all parallel branches); a task and a nursery per attempt cost more
than the rest of a short stage's bookkeeping (benchmarks/RESULTS.md).
A heartbeat is progress only when the attempt's output grew.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import trio
from attrs import define, field

from attractor_core.runtime.events import StageHeartbeat

if TYPE_CHECKING:  # the services hold a board: imported for annotations only
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


@define
class _Beating:
    lane: Lane
    run: AttemptRun
    started: float
    beaten_at: float  # the last beat, or the start: the next is due one interval later
    last_output_at: float
    seen: int = 0


@define
class HeartbeatBoard:
    """The attempts running now, each with the time of its last heartbeat."""

    _active: dict[int, _Beating] = field(factory=dict)

    def beating(self, lane: Lane, run: AttemptRun) -> _OnBoard:
        """``with board.beating(lane, run):`` the attempt is on the board for the block."""
        now = trio.current_time()
        return _OnBoard(self._active, id(run), _Beating(lane, run, now, now, now))

    def next_due(self, interval: float, default: float) -> float:
        return min((b.beaten_at + interval for b in self._active.values()), default=default)

    def due(self, interval: float, now: float) -> list[_Beating]:
        return [b for b in self._active.values() if b.beaten_at + interval <= now]


class _OnBoard:
    """An attempt's time on the board (a class, not a generator: entered at every attempt)."""

    __slots__ = ("_active", "_beating", "_key")

    def __init__(self, active: dict[int, _Beating], key: int, beating: _Beating):
        self._active, self._key, self._beating = active, key, beating

    def __enter__(self) -> None:
        self._active[self._key] = self._beating

    def __exit__(self, *exc_info: object) -> None:
        del self._active[self._key]


async def run_heartbeats(services: RunServices, board: HeartbeatBoard) -> None:
    """Beat for each attempt on ``board`` every heartbeat interval, until cancelled.

    The ticker never sleeps longer than one interval, and an attempt that
    joins is first due a full interval later, so no attempt is ever late
    for its first beat and joining needs no wake-up.
    """
    interval = services.config.policy.effective_heartbeat.seconds
    while True:
        now = trio.current_time()
        await trio.sleep_until(board.next_due(interval, default=now + interval))
        now = trio.current_time()
        for beating in board.due(interval, now):
            _beat(services, beating, now)
            beating.beaten_at = now


def _beat(services: RunServices, beating: _Beating, now: float) -> None:
    run, lane = beating.run, beating.lane
    size = max(run.output_bytes, output_bytes(run.stage_dir))
    if size > beating.seen:
        beating.seen, beating.last_output_at = size, now
        services.liveness.progress(lane.live_key)
    services.emit(StageHeartbeat(
        run.node.id, run.attempt, run.attempt_id, lane.state.restart_count, lane.branch_key,
        int((now - beating.started) * 1000), int((now - beating.last_output_at) * 1000), size))
