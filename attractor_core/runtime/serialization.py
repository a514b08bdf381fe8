"""The cattrs converter for every JSON artifact and event.

One converter, so that a type (tuples, enums, durations) is written the
same way everywhere and read back by ``structure``.
"""

from __future__ import annotations

import cattrs

from attractor_core.model.values import Duration
from attractor_core.runtime.json_text import compact_json

__all__ = ["CONVERTER", "compact_json", "make_converter"]


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Duration, lambda d: d.ms)
    converter.register_structure_hook(Duration, lambda v, _: Duration(int(v)))
    return converter


CONVERTER = make_converter()

