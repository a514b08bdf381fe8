"""What ``/proc`` says about process groups: which exist, who is in them, which a dead
owner left running.

Readers of a run directory (``attractor status``) and the live engine both ask these
questions, so nothing here needs an event loop. A recorded group counts as still ours
only if /proc agrees: its leader is alive with the recorded start time, or, once the
leader has exited, every remaining member started after it. A pid the kernel has reused
for an unrelated process therefore is not taken for one of ours.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from attractor_core.records import Record
from attractor_core.runtime.lock import process_alive
from attractor_core.runtime.process_records import GroupRecord, RecordedGroups, this_host


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of the group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_exists(pgid: int) -> bool:
    """Whether the kernel still knows group ``pgid`` (zombie members included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


_PROC = Path("/proc")


def procfs_available() -> bool:
    return _PROC.is_dir()


class ProcStat(Record):
    """The fields of ``/proc/<pid>/stat`` that identify a process and its group."""

    __match_args__ = __slots__ = ("pid", "state", "pgid", "start_time")
    pid: int
    state: str
    pgid: int
    start_time: int  # clock ticks since boot

    def __init__(self, pid: int, state: str, pgid: int, start_time: int) -> None:
        setter = object.__setattr__
        setter(self, "pid", pid)
        setter(self, "state", state)
        setter(self, "pgid", pgid)
        setter(self, "start_time", start_time)


def scan_processes() -> list[ProcStat]:
    """Every process ``/proc`` shows (empty without procfs)."""
    found = []
    try:
        entries = os.scandir(_PROC)
    except OSError:
        return []
    with entries:
        for entry in entries:
            if entry.name.isdigit() and (stat := _read_stat(entry.name)) is not None:
                found.append(stat)
    return found


def _read_stat(pid: str) -> ProcStat | None:
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            raw = os.read(fd, 512)
        finally:
            os.close(fd)
        # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
        fields = raw[raw.rindex(b")") + 2:].split()
        return ProcStat(int(pid), fields[0].decode(), int(fields[2]), int(fields[19]))
    except (OSError, ValueError, IndexError):
        return None


_STAGE_DIR_VAR = b"ATTRACTOR_STAGE_DIR="


def groups_of_stages_under(root: Path) -> list[int]:
    """The live process groups (other than this process's) with a member whose stage
    environment (``ATTRACTOR_STAGE_DIR``) lies under ``root``.

    A dead owner's records name only the groups it had recorded: a command started an
    instant before its owner died, or one that left its group (``setsid``), is found here
    by the environment it inherited."""
    prefix = str(root).encode()
    own = os.getpgrp()
    found = set()
    for stat in scan_processes():
        if stat.state == "Z" or stat.pgid == own:
            continue
        try:
            environment = (_PROC / str(stat.pid) / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        for variable in environment.split(b"\0"):
            if variable.startswith(_STAGE_DIR_VAR):
                value = variable[len(_STAGE_DIR_VAR):]
                if value == prefix or value.startswith(prefix + b"/"):
                    found.add(stat.pgid)
                break
    return sorted(found)


def running_groups() -> frozenset[int]:
    """The groups that have at least one member that is not a zombie."""
    return frozenset(p.pgid for p in scan_processes() if p.state != "Z")


def left_behind(recorded: RecordedGroups | None) -> list[GroupRecord]:
    """The recorded groups that are still alive although the process that recorded them
    is gone; empty while that process lives (its groups are its own business), and empty
    when it ran on another host (its pids say nothing here)."""
    if recorded is None or not recorded.groups:
        return []
    if recorded.host and recorded.host != this_host():
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
