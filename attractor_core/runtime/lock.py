"""``run.lock``: one live process per logs root.

The lock records the owner's pid and process start time (from
``/proc/<pid>/stat``), so a pid reused by an unrelated process is not
mistaken for the owner. A lock whose owner is dead is reclaimed; a lock
that cannot be read is never stolen.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from attractor_core.errors import UsageError
from attractor_core.records import Record
from attractor_core.runtime.clock import utc_now_iso

_UNREADABLE_RETRIES = 20
_UNREADABLE_WAIT_S = 0.025


class LockHeldError(UsageError):
    """Another live process owns the logs root."""


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` from the state on, or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields resume after ')'.
    return stat[stat.rindex(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if unknown."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def process_alive(pid: int, start_time: int | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``start_time``. A zombie
    (dead, not yet reaped by a parent that may never reap it) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no procfs: the signal probe is all we know
    return fields[0] != "Z" and (start_time is None or int(fields[19]) == start_time)


class LockOwner(Record):
    """What ``run.lock`` says about the process holding it."""

    __match_args__ = __slots__ = ("pid", "start_time", "run_id", "stops_on_signal")
    pid: int
    start_time: int | None
    run_id: str
    # The owner turns SIGINT and SIGTERM into a cancellation of the run (``attractor stop``
    # signals only such an owner: to any other process SIGTERM may mean death).
    stops_on_signal: bool

    def __init__(
        self,
        pid: int,
        start_time: int | None,
        run_id: str,
        stops_on_signal: bool,
    ) -> None:
        setter = object.__setattr__
        setter(self, "pid", pid)
        setter(self, "start_time", start_time)
        setter(self, "run_id", run_id)
        setter(self, "stops_on_signal", stops_on_signal)


class RunLock:
    def __init__(self, path: Path, run_id: str, stops_on_signal: bool = False):
        self.path = path
        self.run_id = run_id
        self.stops_on_signal = stops_on_signal
        self.pid = os.getpid()
        self.start_time = process_start_time(self.pid)
        self.held = False

    def acquire(self) -> None:
        record = {"pid": self.pid, "pid_start_time": self.start_time, "run_id": self.run_id,
                  "acquired_at": utc_now_iso(), "stops_on_signal": self.stops_on_signal}
        data = (json.dumps(record, indent=2) + "\n").encode()
        unreadable = 0
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = self._read_owner()
                if owner is None:
                    unreadable += 1
                    if unreadable > _UNREADABLE_RETRIES:
                        raise LockHeldError(
                            self._conflict_text("its lock file is unreadable")) from None
                    time.sleep(_UNREADABLE_WAIT_S)
                    continue
                if process_alive(owner.pid, owner.start_time):
                    raise LockHeldError(self._conflict_text(
                        f"pid {owner.pid}, run {owner.run_id!r}")) from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.held = True
            return

    def owner_alive(self) -> bool:
        """Whether a live process holds the lock, without touching the file.

        An unreadable lock counts as live, as in :meth:`acquire`: it may be
        an owner caught between creating and writing it."""
        owner = self._read_owner()
        if owner is None:
            return self.path.exists()
        return process_alive(owner.pid, owner.start_time)

    def owner_pid(self) -> int | None:
        """The pid recorded in the lock file, or None if it cannot be read."""
        owner = self._read_owner()
        return owner.pid if owner is not None else None

    def owner(self) -> LockOwner | None:
        """The owner the lock file records (alive or not), or None if it cannot be read."""
        return self._read_owner()

    def release(self) -> None:
        if not self.held:
            return
        owner = self._read_owner()
        if owner is not None and owner.pid == self.pid:
            self.path.unlink(missing_ok=True)
        self.held = False

    def _read_owner(self) -> LockOwner | None:
        try:
            record = json.loads(self.path.read_text())
            pid = int(record["pid"])
            start = record.get("pid_start_time")
            start_time = int(start) if start is not None else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if pid <= 0:
            return None
        return LockOwner(pid, start_time, str(record.get("run_id", "")),
                         record.get("stops_on_signal") is True)

    def _conflict_text(self, owner: str) -> str:
        return (f"logs root {self.path.parent} is in use by another live process ({owner}); "
                f"wait for it to finish, or use another --logs-root")
