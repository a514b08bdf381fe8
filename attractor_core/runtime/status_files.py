"""Reading a stage's ``status.json`` (spec Appendix C) into an ``Outcome``.

A status file that exists but cannot be trusted is a deterministic
failure naming the file and the problem, never a silent success.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen

from attractor_core.errors import RunError
from attractor_core.model import Outcome, OutcomeTokenError, parse_outcome
from attractor_core.runtime.atomic import write_json_atomic

_STR_FIELDS = {
    "preferred_label": "preferred_label",
    "preferred_next_label": "preferred_label",
    "notes": "notes",
    "failure_reason": "failure_reason",
    "failure_class": "failure_class",
    "failure_signature": "failure_signature",
}
_OWNERSHIP = ("run_id", "node_id", "attempt")
KNOWN_KEYS = frozenset({"outcome", "status", "suggested_next_ids", "context_updates", "details",
                        *_STR_FIELDS, *_OWNERSHIP, "failed_node_id", "started_at",
                        "finished_at", "duration_ms", "timeout", "source"})


class StatusFileError(RunError, ValueError):
    """A status file exists but is malformed."""


@frozen
class StatusFile:
    outcome: Outcome
    unknown_keys: tuple[str, ...]
    ownership: dict[str, str]  # the run_id / node_id / attempt the file claims, as text


def parse_status(raw: Any, path: Path) -> StatusFile:
    """Turn decoded JSON into a StatusFile; raises StatusFileError if it is malformed."""
    if not isinstance(raw, Mapping):
        raise StatusFileError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    value = raw.get("outcome", raw.get("status"))
    if not isinstance(value, str):
        raise StatusFileError(f"{path}: missing or non-string 'outcome'")
    try:
        status, custom = parse_outcome(value)
    except OutcomeTokenError as exc:
        raise StatusFileError(f"{path}: {exc}") from None
    fields: dict[str, Any] = {"status": status, "custom": custom}
    for key, target in _STR_FIELDS.items():
        if key in raw:
            fields[target] = _expect(raw[key], str, key, path)
    if "suggested_next_ids" in raw:
        ids = _expect(raw["suggested_next_ids"], list, "suggested_next_ids", path)
        if not all(isinstance(i, str) for i in ids):
            raise StatusFileError(f"{path}: suggested_next_ids must be a list of strings")
        fields["suggested_next_ids"] = tuple(ids)
    if "context_updates" in raw:
        updates = _expect(raw["context_updates"], dict, "context_updates", path)
        fields["context_updates"] = dict(updates)
    if "details" in raw:
        fields["details"] = dict(_expect(raw["details"], dict, "details", path))
    unknown = tuple(sorted(k for k in raw if k not in KNOWN_KEYS))
    ownership = {k: str(raw[k]) for k in _OWNERSHIP if k in raw}
    return StatusFile(Outcome(**fields), unknown, ownership)


def read_status_file(path: Path) -> StatusFile | None:
    """None if the file does not exist; raises StatusFileError if it is bad."""
    try:
        data = read_small_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StatusFileError(f"{path}: unreadable: {exc}") from None
    try:
        raw = json.loads(data)
    except UnicodeDecodeError as exc:
        raise StatusFileError(f"{path}: unreadable: {exc}") from None
    except ValueError as exc:
        raise StatusFileError(f"{path}: malformed JSON: {exc}") from None
    return parse_status(raw, path)


def read_small_file(path: Path) -> bytes:
    """The whole file, with plain system calls: ``open()`` adds five (fstat twice, an isatty
    probe, two seeks) to every read, and status files are read at every attempt."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _expect(value: Any, kind: type, key: str, path: Path) -> Any:
    if not isinstance(value, kind):
        raise StatusFileError(f"{path}: field {key!r} must be {kind.__name__}, "
                              f"found {type(value).__name__}")
    return value


def write_status_file(path: Path, outcome: Outcome, meta: Mapping[str, Any]) -> None:
    """Write the engine's record of an attempt: the outcome plus engine-owned metadata."""
    payload: dict[str, Any] = {"outcome": outcome.name}
    for field in attrs.fields(Outcome):
        if field.name in ("status", "custom"):
            continue
        value = getattr(outcome, field.name)
        if value:
            payload[field.name] = list(value) if isinstance(value, tuple) else value
    payload.update(meta)
    # One compact line: written twice per stage, and the C encoder is several times faster.
    write_json_atomic(path, payload, compact=True)
