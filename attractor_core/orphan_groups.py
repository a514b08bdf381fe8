"""Process groups a dead owner left running, found from ``processes.json`` and stopped.

After ``kill -9`` of ``attractor run`` its tool commands and CLI agents live
on in their own process groups. ``attractor resume`` stops them (SIGTERM,
the kill grace, SIGKILL) before it starts anything, so a stage never runs
twice at once; ``attractor status`` names them.

A recorded group counts as still ours only if /proc agrees: its leader is
alive with the recorded start time, or, once the leader has exited, every
remaining member started after it. A pid the kernel has reused for an
unrelated process therefore is not signalled.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Sequence

import trio

from attractor_core.process_group import ProcStat, group_exists, scan_processes, signal_group
from attractor_core.runtime.lock import process_alive
from attractor_core.runtime.process_records import GroupRecord, RecordedGroups

_POLL_SECONDS = 0.05
# How long SIGKILLed members may take to disappear (a process in uninterruptible sleep).
_REAP_WAIT_SECONDS = 5.0


def left_behind(recorded: RecordedGroups | None) -> list[GroupRecord]:
    """The recorded groups that are still alive although the process that recorded them
    is gone; empty while that process lives (its groups are its own business)."""
    if recorded is None or not recorded.groups:
        return []
    if process_alive(recorded.owner_pid, recorded.owner_start_time):
        return []
    return still_alive(recorded.groups)


def still_alive(groups: Iterable[GroupRecord]) -> list[GroupRecord]:
    groups = list(groups)
    if not groups:
        return []
    members: dict[int, list[ProcStat]] = {}
    stats = scan_processes()
    if not stats:  # no procfs: a signal probe is all we can ask
        return [g for g in groups if group_exists(g.pgid)]
    for stat in stats:
        if stat.state != "Z":
            members.setdefault(stat.pgid, []).append(stat)
    return [g for g in groups if _is_same_group(g, members.get(g.pgid, ()))]


def _is_same_group(record: GroupRecord, members: Sequence[ProcStat]) -> bool:
    if not members:
        return False
    if record.leader_start_time is None:
        return True
    leader = next((m for m in members if m.pid == record.pgid), None)
    if leader is not None:
        return leader.start_time == record.leader_start_time
    return all(m.start_time >= record.leader_start_time for m in members)


async def stop_left_behind(groups: Sequence[GroupRecord], grace: float,
                           hurry: trio.Event) -> None:
    """SIGTERM every group at once, wait up to ``grace`` (until ``hurry``), SIGKILL what is
    left, and return once nothing of them runs (or after a bounded wait)."""
    for group in still_alive(groups):
        signal_group(group.pgid, signal.SIGTERM)
    with trio.move_on_after(grace):
        while still_alive(groups) and not hurry.is_set():
            await trio.sleep(_POLL_SECONDS)
    with trio.move_on_after(_REAP_WAIT_SECONDS):
        while remaining := still_alive(groups):
            for group in remaining:
                signal_group(group.pgid, signal.SIGKILL)
            await trio.sleep(_POLL_SECONDS)
