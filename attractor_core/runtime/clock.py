"""The timestamps written into run artifacts and events: UTC, milliseconds, ``Z``."""

from __future__ import annotations

import time

# The millisecond last formatted and its text: a run writes several timestamps per stage,
# mostly within one millisecond or second, and formatting through datetime cost more than the
# rest of building an event. One tuple, replaced whole, so threads never see a millisecond
# with another's text.
_cached: tuple[int, str] = (-1, "")


def utc_now_iso() -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (milliseconds truncated, as ``isoformat`` does)."""
    global _cached
    millisecond = time.time_ns() // 1_000_000
    cached = _cached
    if cached[0] == millisecond:
        return cached[1]
    second, rest = divmod(millisecond, 1000)
    if cached[0] // 1000 == second:
        prefix = cached[1][:19]
    else:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    text = f"{prefix}.{rest:03d}Z"
    _cached = (millisecond, text)
    return text
