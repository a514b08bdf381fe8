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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import trio

from attractor_core.model.values import Duration

# How often to look whether a terminated group has emptied during the grace period.
_GRACE_POLL_SECONDS = 0.02


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of the group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class GroupTable:
    """Which process groups still have a running (non-zombie) member.

    One scan of ``/proc`` answers for every group, and a scan is reused for
    ``ttl`` seconds, so a hundred tools cancelled at once cost one scan per
    poll instead of a hundred. Zombies do not count: a member that died
    after its parent may never be reaped (PID 1 of a container may not do
    it), and waiting for it would turn every cancellation into a full grace.
    """

    def __init__(self, ttl: float = 0.05):
        self.ttl = ttl
        self._taken_at = -1.0
        self._running: frozenset[int] = frozenset()

    def alive(self, pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        if not _PROC.is_dir():
            return True  # no procfs: the signal probe above is all we know
        if time.monotonic() - self._taken_at > self.ttl:
            self._running = _scan_running_groups()
            self._taken_at = time.monotonic()  # after the scan: a slow scan is not redone at once
        return pgid in self._running


_PROC = Path("/proc")


def _scan_running_groups() -> frozenset[int]:
    groups = set()
    with os.scandir(_PROC) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                fd = os.open(f"/proc/{entry.name}/stat", os.O_RDONLY)
                try:
                    raw = os.read(fd, 512)
                finally:
                    os.close(fd)
                # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
                fields = raw[raw.rindex(b")") + 2:].split()
            except (OSError, ValueError):
                continue
            if fields[0] != b"Z":
                groups.add(int(fields[2]))
    return frozenset(groups)


async def terminate_group(pgid: int, grace: float, table: GroupTable | None = None) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds for it to empty, then SIGKILL it."""
    table = table or GroupTable()
    signal_group(pgid, signal.SIGTERM)
    with trio.move_on_after(grace):
        while table.alive(pgid):
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
    table: GroupTable | None = None,
    stdin: bytes | None = None,
) -> int:
    """Run ``command`` with ``shell -c``; return its exit code (negative: killed by a signal).

    Output goes straight to the given files. stdin is ``stdin`` when given, else ``/dev/null``.
    Cancellation propagates after the whole group has been stopped.
    """
    async def deliver_cancel(process: trio.Process) -> None:
        await terminate_group(process.pid, kill_grace, table)

    # The process is recorded the moment it exists. Not through ``nursery.start``: when
    # the cancellation lands before ``start`` hands the process back, ``start`` raises
    # without it, and the group's members would never be killed.
    spawned = _Spawned()
    try:
        completed = await trio.run_process(
            [shell, "-c", command],
            cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=stdout, stderr=stderr,
            start_new_session=True, check=False, deliver_cancel=deliver_cancel,
            task_status=spawned,
        )
    except BaseException:
        if spawned.process is None:
            raise  # it never started (e.g. no such shell): nothing to stop
        # run_process stops its killer as soon as the leader exits; members
        # that outlive it still get their grace period, then SIGKILL.
        with trio.CancelScope(shield=True):
            await terminate_group(spawned.process.pid, kill_grace, table)
        raise
    assert spawned.process is not None
    signal_group(spawned.process.pid, signal.SIGKILL)
    return completed.returncode


class _Spawned:
    """A ``task_status`` for ``run_process`` that keeps the process it is given."""

    def __init__(self) -> None:
        self.process: trio.Process | None = None

    def started(self, value: trio.Process | None = None) -> None:
        self.process = value


DEFAULT_KILL_GRACE_SECONDS = 2.0


def kill_grace_seconds(run: Any) -> float:
    """The run option ``kill_grace`` (falls back to the run policy): a ``Duration``, a
    number of seconds or a duration string."""
    value = run.option("kill_grace", DEFAULT_KILL_GRACE_SECONDS)
    if isinstance(value, Duration):
        return value.seconds
    if isinstance(value, str):
        return Duration.parse(value).seconds
    return float(value)
