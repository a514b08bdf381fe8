"""The cattrs converter for every JSON artifact and event.

One converter, so that a type (tuples, enums, durations) is written the
same way everywhere and read back by ``structure``.
"""

from __future__ import annotations

import json

import cattrs

from attractor_core.model.values import Duration


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Duration, lambda d: d.ms)
    converter.register_structure_hook(Duration, lambda v, _: Duration(int(v)))
    return converter


CONVERTER = make_converter()


# Built once: json.dumps(...) with options builds a new encoder at every call, a third of the
# cost of encoding an event. Encoding keeps no state between calls (thread safe).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def compact_json(value: object) -> str:
    """One line of JSON, non-ASCII kept as is; a value JSON cannot encode becomes its text."""
    return _COMPACT.encode(value)
