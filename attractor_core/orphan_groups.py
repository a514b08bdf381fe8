"""Process groups a dead owner left running (found by ``runtime.procfs``), stopped.

After ``kill -9`` of ``attractor run`` its tool commands and CLI agents live
on in their own process groups. ``attractor resume`` stops them (SIGTERM,
the kill grace, SIGKILL) before it starts anything, so a stage never runs
twice at once; ``attractor status`` names them.

"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import trio

from attractor_core.process_group import terminate_groups
from attractor_core.runtime.process_records import GroupRecord
from attractor_core.runtime.procfs import (
    group_exists,
    groups_of_stages_under,
    still_alive,
)


async def stop_left_behind(groups: Sequence[GroupRecord], grace: float,
                           hurry: trio.Event) -> None:
    """SIGTERM every group at once, wait up to ``grace`` (until ``hurry``), SIGKILL what is
    left, and return once nothing of them runs (or after a bounded wait)."""
    await terminate_groups(lambda: [group.pgid for group in still_alive(groups)], grace, hurry)


async def stop_strays(root: Path, grace: float, hurry: trio.Event) -> None:
    """Stop the groups of processes started for stages under ``root`` that are still running
    once the process that ran those stages is dead (``procfs.groups_of_stages_under``), as
    :func:`stop_left_behind` does."""
    strays = groups_of_stages_under(root)
    await terminate_groups(lambda: [pgid for pgid in strays if group_exists(pgid)], grace, hurry)
