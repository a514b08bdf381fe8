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
from attractor_core.runtime.clock import utc_now_iso

_UNREADABLE_RETRIES = 20
_UNREADABLE_WAIT_S = 0.025


class LockHeldError(UsageError):
    """Another live process owns the logs root."""


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields resume after ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def process_alive(pid: int, start_time: int | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``start_time``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = process_start_time(pid)
    return start_time is None or current is None or current == start_time


class RunLock:
    def __init__(self, path: Path, run_id: str):
        self.path = path
        self.run_id = run_id
        self.pid = os.getpid()
        self.start_time = process_start_time(self.pid)
        self.held = False

    def acquire(self) -> None:
        record = {"pid": self.pid, "pid_start_time": self.start_time, "run_id": self.run_id,
                  "acquired_at": utc_now_iso()}
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
                pid, start, run_id = owner
                if process_alive(pid, start):
                    raise LockHeldError(
                        self._conflict_text(f"pid {pid}, run {run_id!r}")) from None
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
        return process_alive(owner[0], owner[1])

    def owner_pid(self) -> int | None:
        """The pid recorded in the lock file, or None if it cannot be read."""
        owner = self._read_owner()
        return owner[0] if owner is not None else None

    def release(self) -> None:
        if not self.held:
            return
        owner = self._read_owner()
        if owner is not None and owner[0] == self.pid:
            self.path.unlink(missing_ok=True)
        self.held = False

    def _read_owner(self) -> tuple[int, int | None, str] | None:
        try:
            record = json.loads(self.path.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if pid <= 0:
            return None
        start = record.get("pid_start_time")
        return pid, (int(start) if start is not None else None), str(record.get("run_id", ""))

    def _conflict_text(self, owner: str) -> str:
        return (f"logs root {self.path.parent} is in use by another live process ({owner}); "
                f"wait for it to finish, or use another --logs-root")
