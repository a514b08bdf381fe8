"""Running a shell command in its own process group, and never leaving any of it behind.

A tool command may start background children (``sleep 300 & ...``). The
command runs as the leader of a new session, so its whole process group
can be signalled at once:

* on cancellation (stage timeout, run cancel): SIGTERM to the group, up to
  ``kill_grace`` seconds for the group to exit, then SIGKILL to the group;
* after the leader exits normally: SIGKILL to whatever is left in the group.

Inside a stage attempt (:func:`stage_processes`) every group is also
recorded in the run's ``processes.json`` for as long as it may be alive,
and a cancellation that escalates (a second Ctrl-C) cuts the grace short.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

import trio
from attrs import frozen

from attractor_core.model.values import Duration
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.lock import process_start_time
from attractor_core.runtime.process_records import GroupRecord, ProcessRecords
from attractor_core.runtime.procfs import (
    group_exists,
    procfs_available,
    running_groups,
    signal_group,
)

# How often to look whether a terminated group has emptied during the grace period.
_GRACE_POLL_SECONDS = 0.02
# How long SIGKILLed members may take to disappear (a process in uninterruptible sleep).
_REAP_WAIT_SECONDS = 5.0


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
        if not group_exists(pgid):
            return False
        if not procfs_available():
            return True  # no procfs: the signal probe above is all we know
        if time.monotonic() - self._taken_at > self.ttl:
            self._running = running_groups()
            self._taken_at = time.monotonic()  # after the scan: a slow scan is not redone at once
        return pgid in self._running


@frozen
class StageOwner:
    """The stage attempt on whose behalf groups are started, and the run's record of them."""

    records: ProcessRecords
    run_id: str
    node_id: str
    attempt: int
    branch_key: str

    def record(self, pgid: int) -> None:
        self.records.add(GroupRecord(pgid, process_start_time(pgid), self.run_id, self.node_id,
                                     self.attempt, self.branch_key, utc_now_iso()))


# The owner travels with the task (and the tasks it starts), as trio's own per-task state
# does: whatever starts a group during the attempt (a handler, a backend, an agent tool, a
# third-party plugin) has it recorded without passing anything through.
_STAGE_OWNER: ContextVar[StageOwner | None] = ContextVar("attractor_stage_owner", default=None)


class stage_processes:
    """Record the groups started in this block (and in the tasks it starts) as ``owner``'s.
    (A class, not a generator: it is entered at every stage attempt.)"""

    __slots__ = ("_owner", "_token")

    def __init__(self, owner: StageOwner):
        self._owner = owner

    def __enter__(self) -> None:
        self._token = _STAGE_OWNER.set(self._owner)

    def __exit__(self, *exc_info: object) -> None:
        _STAGE_OWNER.reset(self._token)


def kill_all_now(records: ProcessRecords) -> list[int]:
    """Escalation: SIGKILL every recorded group at once and let no grace run on; the pgids."""
    records.hurry.set()
    pgids = [record.pgid for record in records]
    for pgid in pgids:
        signal_group(pgid, signal.SIGKILL)
    return pgids


async def terminate_group(pgid: int, grace: float, table: GroupTable | None = None,
                          hurry: trio.Event | None = None) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds (until ``hurry`` is set) for it to
    empty, then SIGKILL it until it is gone (bounded, see :func:`terminate_groups`)."""
    table = table or GroupTable()
    await terminate_groups(lambda: [pgid] if table.alive(pgid) else [], grace,
                           trio.Event() if hurry is None else hurry)
    # A member may have been counted out by a scan taken an instant before it forked.
    signal_group(pgid, signal.SIGKILL)


async def terminate_groups(alive: Callable[[], list[int]], grace: float,
                           hurry: trio.Event) -> None:
    """SIGTERM the groups ``alive()`` names, wait up to ``grace`` (until ``hurry``) for
    them to end, then SIGKILL what ``alive()`` still names until it names none, for at
    most ``_REAP_WAIT_SECONDS`` (a member in uninterruptible sleep cannot be waited out)."""
    for pgid in alive():
        signal_group(pgid, signal.SIGTERM)
    with trio.move_on_after(grace):
        while alive() and not hurry.is_set():
            await trio.sleep(_GRACE_POLL_SECONDS)
    with trio.move_on_after(_REAP_WAIT_SECONDS):
        while remaining := alive():
            for pgid in remaining:
                signal_group(pgid, signal.SIGKILL)
            await trio.sleep(_GRACE_POLL_SECONDS)


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
    owner = _STAGE_OWNER.get()
    hurry = owner.records.hurry if owner is not None else None

    async def deliver_cancel(process: trio.Process) -> None:
        await terminate_group(process.pid, kill_grace, table, hurry)

    # The process is recorded the moment it exists. Not through ``nursery.start``: when
    # the cancellation lands before ``start`` hands the process back, ``start`` raises
    # without it, and the group's members would never be killed.
    spawned = _Spawned(owner)
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
            await terminate_group(spawned.process.pid, kill_grace, table, hurry)
        spawned.forget()
        raise
    assert spawned.process is not None
    signal_group(spawned.process.pid, signal.SIGKILL)
    spawned.forget()
    return completed.returncode


class _Spawned:
    """A ``task_status`` for ``run_process`` that keeps the process it is given and
    records its group for as long as the group may be alive."""

    def __init__(self, owner: StageOwner | None) -> None:
        self.owner = owner
        self.process: trio.Process | None = None

    def started(self, value: trio.Process | None = None) -> None:
        self.process = value
        if value is not None and self.owner is not None:
            self.owner.record(value.pid)

    def forget(self) -> None:
        """The group has been SIGKILLed: nothing of it can run on."""
        if self.process is not None and self.owner is not None:
            self.owner.records.remove(self.process.pid)


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
