"""The SDK's compact JSON: strict, one line, and never an error where json's encoder
wrote the value (orjson does the common case, json's encoder the values orjson refuses)."""

from __future__ import annotations

import datetime
import json
import math

from attractor_core.sdk import compact_json, compact_json_bytes


def strict_loads(text: str | bytes) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_a_line_is_compact_keeps_non_ascii_and_ends_with_its_newline() -> None:
    value = {"event": "stage_attempt_end", "node_id": "résumé", "n": 3, "ok": True,
             "items": (1, 2.5, None), "nested": {"k": ["v"]}}
    line = compact_json_bytes(value, newline=True)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    assert "résumé".encode() in line and b", " not in line and b": " not in line
    assert strict_loads(line) == {**value, "items": [1, 2.5, None]}
    assert compact_json(value) == line[:-1].decode()


def test_nan_and_infinities_become_null() -> None:
    assert strict_loads(compact_json({"a": math.nan, "b": [math.inf, -math.inf]})) == {
        "a": None, "b": [None, None]}


def test_values_json_has_no_form_for_become_their_text_and_keys_become_strings() -> None:
    when = datetime.datetime(2026, 12, 6, 7, 0, tzinfo=datetime.UTC)
    decoded = strict_loads(compact_json({1: when, "s": {3}, None: True}))
    assert decoded == {"1": str(when), "s": str({3}), "null": True}


def test_what_orjson_refuses_is_written_as_json_writes_it() -> None:
    huge = 2 ** 70
    assert strict_loads(compact_json_bytes({"n": huge}, newline=True)) == {"n": huge}
    assert compact_json({"n": huge}) == f'{{"n":{huge}}}'
    lone = "\ud800"
    assert json.loads(compact_json({"s": lone})) == {"s": lone}
