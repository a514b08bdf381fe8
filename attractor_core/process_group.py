"""Running a shell command in its own process group, and never leaving any of it behind.

A tool command may start background children (``sleep 300 & ...``). The
command runs as the leader of a new session, so its whole process group
can be signalled at once:

* on cancellation (stage timeout, run cancel): SIGTERM to the group, up to
  ``kill_grace`` seconds for the group to exit, then SIGKILL to the group;
* after the leader exits normally: SIGKILL to whatever is left in the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import trio

# How often to look whether a terminated group has emptied during the grace period.
_GRACE_POLL_SECONDS = 0.02


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of the group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """True while a process of the group is still running.

    Zombies do not count: a member that died after its parent may wait a
    long time to be reaped (PID 1 of a container may never do it), and
    waiting for it would turn every cancellation into a full grace period.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _has_running_member(pgid)


def _has_running_member(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # no procfs: the signal probe above is all we know
    for entry in proc.iterdir():
        if entry.name.isdigit() and _running_in_group(entry / "stat", pgid):
            return True
    return False


def _running_in_group(stat_path: Path, pgid: int) -> bool:
    try:
        # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
        fields = stat_path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return int(fields[2]) == pgid and fields[0] != "Z"


async def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds for it to empty, then SIGKILL it."""
    signal_group(pgid, signal.SIGTERM)
    with trio.move_on_after(grace):
        while group_alive(pgid):
            await trio.sleep(_GRACE_POLL_SECONDS)
    signal_group(pgid, signal.SIGKILL)


async def run_in_group(
    command: str,
    *,
    shell: str = "/bin/sh",
    cwd: Path,
    env: Mapping[str, str],
    stdout: BinaryIO,
    stderr: BinaryIO,
    kill_grace: float,
) -> int:
    """Run ``command`` with ``shell -c``; return its exit code (negative: killed by a signal).

    Output goes straight to the given files. stdin is ``/dev/null``.
    Cancellation propagates after the whole group has been stopped.
    """
    process: trio.Process | None = None

    async def deliver_cancel(process: trio.Process) -> None:
        await terminate_group(process.pid, kill_grace)

    async def spawn(task_status: trio.TaskStatus[trio.Process] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.run_process(
            [shell, "-c", command],
            cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True, check=False, deliver_cancel=deliver_cancel,
            task_status=task_status,
        )

    try:
        async with trio.open_nursery() as nursery:
            process = await nursery.start(spawn)
    except BaseException as exc:
        if process is None:
            raise _spawn_error(exc) from None
        # run_process stops its killer as soon as the leader exits; members
        # that outlive it still get their grace period, then SIGKILL.
        with trio.CancelScope(shield=True):
            await terminate_group(process.pid, kill_grace)
        raise
    assert process is not None and process.returncode is not None
    signal_group(process.pid, signal.SIGKILL)
    return process.returncode


def _spawn_error(exc: BaseException) -> BaseException:
    """The bare ``OSError`` when the process could not start (the nursery wraps it in a group)."""
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _spawn_error(exc.exceptions[0])
    return exc
