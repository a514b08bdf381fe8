"""Compact JSON text, with json's C encoder and no cattrs: what every artifact write and event
line uses, importable by the short commands (``validate``) without the converter."""

from __future__ import annotations

import json

# Built once: json.dumps(...) with options builds a new encoder at every call, a third of the
# cost of encoding an event. Encoding keeps no state between calls (thread safe).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def compact_json(value: object) -> str:
    """One line of JSON, non-ASCII kept as is; a value JSON cannot encode becomes its text."""
    return _COMPACT.encode(value)
