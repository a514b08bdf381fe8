"""The timestamps written into run artifacts and events: UTC, milliseconds, ``Z``."""

from __future__ import annotations

import time

# The second last formatted and its text: a run writes several timestamps per stage, mostly
# within one second, and formatting through datetime cost more than the rest of building an
# event. One tuple, replaced whole, so threads never see a second with another's text.
_cached: tuple[int, str] = (-1, "")


def utc_now_iso() -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (milliseconds truncated, as ``isoformat`` does)."""
    global _cached
    second, rest = divmod(time.time_ns(), 1_000_000_000)
    cached = _cached
    if cached[0] == second:
        prefix = cached[1]
    else:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _cached = (second, prefix)
    return f"{prefix}.{rest // 1_000_000:03d}Z"
