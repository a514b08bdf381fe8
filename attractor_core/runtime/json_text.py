"""Compact JSON text, and no cattrs: what every artifact write and event line uses,
importable by the short commands (``validate``) without the converter.

orjson encodes a stage's event lines, journal entry and status.json about eight times
faster than json's C encoder (benchmarks/RESULTS.md). Where orjson refuses a value
(an integer beyond 64 bits, a string with a lone surrogate), json's encoder writes it as
it always did, so a value never becomes an error here that it was not before.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

# Built once: json.dumps(...) with options builds a new encoder at every call. Encoding
# keeps no state between calls (thread safe).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


@functools.cache
def _orjson() -> tuple[Callable[..., bytes], type[Exception], int, int]:
    """orjson's ``dumps``, its error and the options of a value and of a line, imported on
    first use: its import loads dataclasses, datetime, uuid and inspect (~10 ms), which the
    short commands that only read artifacts (``status``) never need."""
    import orjson

    # Dates, dataclasses and other objects JSON has no form for become their text
    # (``default``), as with json; keys that are not strings become strings, as with json.
    options = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS)
    return orjson.dumps, orjson.JSONEncodeError, options, options | orjson.OPT_APPEND_NEWLINE


def compact_json(value: object) -> str:
    """One line of JSON, non-ASCII kept as is; a value JSON cannot encode becomes its text.
    NaN and infinities become ``null``: the artifacts are strict JSON."""
    dumps, refused, options, _ = _orjson()
    try:
        return dumps(value, default=str, option=options).decode()
    except refused:
        return _COMPACT.encode(value)


def compact_json_bytes(value: object, *, newline: bool = False) -> bytes:
    """:func:`compact_json` as UTF-8, with its ``\\n`` when ``newline``."""
    dumps, refused, options, line_options = _orjson()
    try:
        return dumps(value, default=str, option=line_options if newline else options)
    except refused:
        return (_COMPACT.encode(value) + ("\n" if newline else "")).encode("utf-8")
