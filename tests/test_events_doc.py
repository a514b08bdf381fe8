"""docs/events.md and attractor_core.runtime.events must describe the same events.

The doc is parsed: a ``## Envelope`` table, then under ``## Events`` one
``### name`` heading per event followed by a ``| field | type | meaning |``
table. Names, fields and JSON types are compared in both directions, and
the types are checked against the records the event bus really emits.
Plugin events count too: every class a plugin returns from the
``attractor_event_types`` hook must be documented.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest

from attractor_core.plugins import collect_in_registration_order, make_plugin_manager
from attractor_core.runtime.event_bus import EventBus
from attractor_core.runtime.events import ALL_EVENTS as KERNEL_EVENTS
from attractor_core.runtime.events import Event

# The kernel's events and those the installed plugins declare (``attractor_event_types``).
ALL_EVENTS: tuple[type[Event], ...] = (*KERNEL_EVENTS, *collect_in_registration_order(
    make_plugin_manager().hook.attractor_event_types()))

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
ENVELOPE = {"event": "string", "ts": "string", "run_id": "string", "seq": "integer"}
TABLE_ROW = re.compile(r"^\|\s*([a-z_][a-z0-9_]*)\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|\s*$")
SAMPLES: dict[str, Any] = {
    "string": "x", "integer": 7, "number": 0.25, "boolean": True, "array of strings": ("a", "b"),
    "array of objects": ({"source": "canonical"},), "object": {"k": "v"},
}


def parse_doc(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(envelope fields, {event: {field: type}}) from the doc's headings and tables."""
    envelope: dict[str, str] = {}
    events: dict[str, dict[str, str]] = {}
    section, current = "", None
    for line in text.splitlines():
        if line.startswith("## "):
            section, current = line[3:].strip(), None
        elif line.startswith("### ") and section == "Events":
            name = line[4:].strip()
            assert name not in events, f"docs/events.md documents {name} twice"
            current = events.setdefault(name, {})
        elif (row := TABLE_ROW.match(line)) and row.group(1) != "field":
            field, kind, meaning = row.groups()
            assert meaning, f"docs/events.md: field {field} has no meaning"
            target = envelope if section == "Envelope" else current
            assert target is not None, f"docs/events.md: table row outside an event: {line}"
            assert field not in target, f"docs/events.md: field {field} listed twice"
            target[field] = kind.strip("` ")
    return envelope, events


def json_type(annotation: Any) -> str:
    """The doc's name for the JSON form of a field annotation."""
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(typing), {})  # attrs keeps string annotations
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    if annotation in simple:
        return simple[annotation]
    if origin is dict:
        return "object"
    if origin is tuple and args[1:] == (Ellipsis,):
        return "array of " + {"string": "strings", "object": "objects"}[json_type(args[0])]
    raise AssertionError(f"no JSON type known for {annotation!r}")


def code_events() -> dict[str, dict[str, str]]:
    return {cls.name: {f.name: json_type(f.type) for f in attrs.fields(cls)}
            for cls in ALL_EVENTS}


@pytest.fixture(scope="module")
def doc() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    return parse_doc(DOC.read_text(encoding="utf-8"))


def test_doc_lists_exactly_the_events_in_all_events(doc: Any) -> None:
    documented, code = set(doc[1]), set(code_events())
    missing, unknown = sorted(code - documented), sorted(documented - code)
    assert not missing, f"events missing from docs/events.md: {missing}"
    assert not unknown, f"docs/events.md documents unknown events: {unknown}"


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.name)
def test_doc_fields_and_types_match_the_event_class(doc: Any, cls: type[Event]) -> None:
    documented = doc[1].get(cls.name)
    assert documented is not None, f"docs/events.md lacks '### {cls.name}'"
    assert documented == code_events()[cls.name], f"{cls.name}: doc vs code fields differ"


def test_envelope_is_documented(doc: Any) -> None:
    assert doc[0] == ENVELOPE


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.name)
def test_emitted_record_has_exactly_the_documented_keys_and_json_types(
        doc: Any, cls: type[Event]) -> None:
    documented = doc[1][cls.name]
    event = cls(**{name: SAMPLES[kind] for name, kind in documented.items()})
    record = json.loads(json.dumps(EventBus("run-1").emit(event)))
    expected = {**doc[0], **documented}
    assert list(record)[:4] == list(ENVELOPE), "the envelope comes first"
    assert set(record) == set(expected)
    checks = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
              "object": dict}
    for key, kind in expected.items():
        if kind.startswith("array of"):
            item = str if kind.endswith("strings") else dict
            assert isinstance(record[key], list) and all(isinstance(v, item) for v in record[key])
        else:
            assert isinstance(record[key], checks[kind]), f"{cls.name}.{key} is not {kind}"
    assert record["event"] == cls.name and record["seq"] == 1


def test_parser_catches_a_field_missing_from_the_doc() -> None:
    """The check is only useful if a drifted doc really fails it."""
    text = DOC.read_text(encoding="utf-8").replace("| delay_ms | integer | how long it waits |\n",
                                                   "")
    _, events = parse_doc(text)
    assert events["stage_retry_sleep"] != code_events()["stage_retry_sleep"]
