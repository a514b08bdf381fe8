"""``live.json``: a snapshot of what the run is doing right now, for ``attractor status``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.event_bus import utc_now_iso


def write_live(path: Path, run_id: str, state: str, **fields: Any) -> None:
    # Rewritten at every attempt boundary: atomic for readers, not fsynced.
    payload = {"run_id": run_id, "pid": os.getpid(), "state": state,
               "updated_at": utc_now_iso(), **fields}
    write_json_atomic(path, payload, durable=False, compact=True)


def read_live(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
