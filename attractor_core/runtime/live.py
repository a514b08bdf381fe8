"""``live.json``: a snapshot of what the run is doing right now, for ``attractor status``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.clock import utc_now_iso

# A view for people and `attractor status`: fresher than this is never needed, and a run of
# very short stages would otherwise spend a file write per stage on it.
LIVE_REFRESH_S = 0.05


def write_live(path: Path, run_id: str, state: str, **fields: Any) -> None:
    # Atomic for readers, not fsynced: never needed for recovery.
    payload = {"run_id": run_id, "pid": os.getpid(), "state": state,
               "updated_at": utc_now_iso(), **fields}
    write_json_atomic(path, payload, durable=False, compact=True)


class LiveView:
    """What live.json should say while the run is running.

    ``show`` only records the newest state; :meth:`keep_written`, a task in the
    run's nursery, writes it at once when the view was quiet, then at most
    once per :data:`LIVE_REFRESH_S`. The run's end writes its own final
    live.json after that task is gone, so a late refresh cannot overwrite it.
    """

    def __init__(self, path: Path, run_id: str):
        self.path = path
        self.run_id = run_id
        # trio is imported by the writer only: `attractor status` reads live.json without it.
        import trio

        self._pending: dict[str, Any] | None = None
        self._changed = trio.Event()

    def show(self, state: str, **fields: Any) -> None:
        self._pending = {"state": state, **fields}
        self._changed.set()

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            write_live(self.path, self.run_id, **pending)

    async def keep_written(self) -> None:
        import trio

        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            self.flush()
            await trio.sleep(LIVE_REFRESH_S)

