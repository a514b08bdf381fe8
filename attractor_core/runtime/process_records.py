"""``processes.json``: the process groups a run's owner has running right now.

Every process group started under a stage attempt (a tool command, a CLI
agent, an agent's shell tool or hook, in any branch or sub-pipeline) is
added the moment it exists and removed once it has been stopped. The file
is rewritten atomically on each change, so after a ``kill -9`` of the
owner it names exactly the groups that may have outlived it: ``attractor
resume`` stops them before it starts anything, and ``attractor status``
reports them.

A group is identified by its pgid (the leader's pid) together with the
leader's start time from ``/proc``, so a pid reused by an unrelated
process is not mistaken for it. The file names the host its writer ran on:
pids mean something only there (an executor's workers write theirs on
storage every host sees), so no other host judges or signals them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attractor_core.records import Record
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.lock import process_start_time
from attractor_core.runtime.structure import structure

if TYPE_CHECKING:  # readers of processes.json (attractor status) run without trio
    import trio

PROCESSES_FILE = "processes.json"


class GroupRecord(Record):
    """One live process group and the stage attempt that started it."""

    __match_args__ = __slots__ = (
        "pgid", "leader_start_time", "run_id", "node_id", "attempt", "branch_key", "started_at",
    )
    pgid: int
    leader_start_time: int | None  # clock ticks since boot, from /proc/<pgid>/stat
    run_id: str  # the run (or sub-pipeline run) whose stage started it
    node_id: str
    attempt: int
    branch_key: str
    started_at: str

    def __init__(self, pgid: int, leader_start_time: int | None, run_id: str, node_id: str,
                 attempt: int, branch_key: str, started_at: str) -> None:
        setter = object.__setattr__
        setter(self, "pgid", pgid)
        setter(self, "leader_start_time", leader_start_time)
        setter(self, "run_id", run_id)
        setter(self, "node_id", node_id)
        setter(self, "attempt", attempt)
        setter(self, "branch_key", branch_key)
        setter(self, "started_at", started_at)


class RecordedGroups(Record):
    """What ``processes.json`` says: its writer and the groups it had running."""

    __match_args__ = __slots__ = ("owner_pid", "owner_start_time", "groups", "host")
    owner_pid: int
    owner_start_time: int | None
    groups: tuple[GroupRecord, ...]
    host: str  # the writer's host name ("": written before hosts were recorded)

    def __init__(self, owner_pid: int, owner_start_time: int | None,
                 groups: tuple[GroupRecord, ...], host: str = "") -> None:
        setter = object.__setattr__
        setter(self, "owner_pid", owner_pid)
        setter(self, "owner_start_time", owner_start_time)
        setter(self, "groups", groups)
        setter(self, "host", host)


def this_host() -> str:
    """The name this machine records its process groups under."""
    # What socket.gethostname() returns (gethostname(2) reads the same field), without
    # importing socket into ``attractor status``.
    return os.uname().nodename


class ProcessRecords:
    """The run's live process groups, mirrored to ``processes.json`` on every change.

    One object per run, shared by its branches and sub-pipelines. ``hurry``
    is set when the run's cancellation escalates: from then on nobody waits
    out a kill grace any more.
    """

    def __init__(self, path: Path, hurry: trio.Event):
        self.path = path
        self.owner_pid = os.getpid()
        self.owner_start_time = process_start_time(self.owner_pid)
        self.hurry = hurry
        self._groups: dict[int, GroupRecord] = {}

    def add(self, record: GroupRecord) -> None:
        self._groups[record.pgid] = record
        self._write()

    def remove(self, pgid: int) -> None:
        if self._groups.pop(pgid, None) is not None:
            self._write()

    def __iter__(self) -> Iterator[GroupRecord]:
        return iter(tuple(self._groups.values()))

    def _write(self) -> None:
        # Not fsynced: the groups cannot outlive a machine crash, only a killed owner.
        from attractor_core.runtime.serialization import CONVERTER  # readers: no cattrs

        write_json_atomic(self.path, CONVERTER.unstructure(RecordedGroups(
            self.owner_pid, self.owner_start_time, tuple(self._groups.values()),
            this_host())),
            durable=False)


def read_process_records(path: Path) -> RecordedGroups | None:
    """The groups ``path`` records, or None when it is missing or unreadable."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return structure(data, RecordedGroups)
    except (OSError, ValueError, TypeError):
        return None
