"""The timestamps written into run artifacts and events: UTC, milliseconds, ``Z``."""

from __future__ import annotations

import datetime as _dt


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
