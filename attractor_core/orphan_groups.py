"""Process groups a dead owner left running (found by ``runtime.procfs``), stopped.

After ``kill -9`` of ``attractor run`` its tool commands and CLI agents live
on in their own process groups. ``attractor resume`` stops them (SIGTERM,
the kill grace, SIGKILL) before it starts anything, so a stage never runs
twice at once; ``attractor status`` names them.

"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import trio

from attractor_core.runtime.process_records import GroupRecord
from attractor_core.runtime.procfs import (
    group_exists,
    groups_of_stages_under,
    signal_group,
    still_alive,
)

_POLL_SECONDS = 0.05
# How long SIGKILLed members may take to disappear (a process in uninterruptible sleep).
_REAP_WAIT_SECONDS = 5.0


async def stop_left_behind(groups: Sequence[GroupRecord], grace: float,
                           hurry: trio.Event) -> None:
    """SIGTERM every group at once, wait up to ``grace`` (until ``hurry``), SIGKILL what is
    left, and return once nothing of them runs (or after a bounded wait)."""
    await _terminate(lambda: [group.pgid for group in still_alive(groups)], grace, hurry)


async def stop_strays(root: Path, grace: float, hurry: trio.Event) -> None:
    """Stop the groups of processes started for stages under ``root`` that are still running
    once the process that ran those stages is dead (``procfs.groups_of_stages_under``), as
    :func:`stop_left_behind` does."""
    strays = groups_of_stages_under(root)
    await _terminate(lambda: [pgid for pgid in strays if group_exists(pgid)], grace, hurry)


async def _terminate(alive: Callable[[], list[int]], grace: float, hurry: trio.Event) -> None:
    """SIGTERM the groups ``alive()`` names, wait up to ``grace`` (until ``hurry``) for
    them to end, then SIGKILL what ``alive()`` still names until it names none (bounded)."""
    for pgid in alive():
        signal_group(pgid, signal.SIGTERM)
    with trio.move_on_after(grace):
        while alive() and not hurry.is_set():
            await trio.sleep(_POLL_SECONDS)
    with trio.move_on_after(_REAP_WAIT_SECONDS):
        while remaining := alive():
            for pgid in remaining:
                signal_group(pgid, signal.SIGKILL)
            await trio.sleep(_POLL_SECONDS)
