"""``stop.json``: a request from ``attractor stop`` that the run end as ``stopped``.

``attractor stop`` writes the request, then sends SIGTERM to the process holding the run's
lock: the signal goes through the run's ordinary cancellation path, and the request tells
that path the cancel came from ``stop`` (exit path ``stopped``) rather than from a plain
SIGTERM. The request names the owner by pid and process start time, so a request left over
from an earlier owner (the run was stopped, then resumed) addresses nobody now.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from attrs import frozen

from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.clock import utc_now_iso
from attractor_core.runtime.lock import process_start_time


@frozen
class StopRequest:
    owner_pid: int  # the run's owner the request is addressed to
    owner_start_time: int | None
    requested_by: int  # the pid of the ``attractor stop`` that asked
    requested_at: str

    @property
    def reason(self) -> str:
        return f"stopped by attractor stop (pid {self.requested_by})"


def write_stop_request(path: Path, owner_pid: int, owner_start_time: int | None) -> None:
    write_json_atomic(path, {"owner_pid": owner_pid, "owner_start_time": owner_start_time,
                             "requested_by": os.getpid(), "requested_at": utc_now_iso()})


def stop_requested_of_me(path: Path) -> StopRequest | None:
    """The request in ``path`` when it is addressed to this very process, else None
    (no file, an unreadable one, or one meant for an earlier owner)."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        request = StopRequest(int(raw["owner_pid"]), _optional_int(raw.get("owner_start_time")),
                              int(raw["requested_by"]), str(raw.get("requested_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    me = os.getpid()
    if request.owner_pid != me:
        return None
    if request.owner_start_time is not None and \
            request.owner_start_time != process_start_time(me):
        return None
    return request


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
