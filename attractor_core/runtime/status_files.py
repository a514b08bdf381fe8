"""Reading a stage's ``status.json`` (spec Appendix C) into an ``Outcome``.

A status file that exists but cannot be trusted is a deterministic
failure naming the file and the problem, never a silent success.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from attractor_core.errors import RunError
from attractor_core.model import Outcome, OutcomeTokenError, parse_outcome
from attractor_core.runtime.atomic import (
    ArtifactWriteError,
    write_bytes_atomic,
    write_json_atomic,
)

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
class CanonicalSource:
    """The status source for the stage dir's own file (``ATTRACTOR_STATUS_PATH``).

    The engine reads it even when no plugin contributes status sources.
    """

    name: str = "canonical"
    precedence: int = 0
    canonical: bool = True

    def path(self, stage_dir: Path, workdir: Path, run_id: str) -> Path:
        return stage_dir / "status.json"


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


# Limits on what a stage may leave at a status path (docs/spec-deltas.md): anything larger
# or deeper is a deterministic failure of the stage, never a hazard to the engine.
MAX_STATUS_BYTES = 1 << 20
MAX_STATUS_NESTING = 100

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@frozen
class OpenStatusFile:
    """A status path opened and checked to be a regular file of bounded size; ``read``
    takes the content and closes the descriptor."""

    path: Path
    fd: int
    mtime: float
    device: int

    def read(self) -> bytes:
        """Raises StatusFileError if the file is unreadable or grew past the limit (a
        pseudo-file reports size 0 whatever it holds)."""
        try:
            chunks, size = [], 0
            while size <= MAX_STATUS_BYTES and (chunk := os.read(self.fd, 65536)):
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise StatusFileError(f"{self.path}: unreadable: {exc.strerror}") from None
        finally:
            os.close(self.fd)
        if size > MAX_STATUS_BYTES:
            raise _too_large(self.path)
        return b"".join(chunks)


def open_status_file(path: Path) -> OpenStatusFile | None:
    """Open ``path`` without ever blocking: None if nothing is there; raises StatusFileError
    for anything but a regular file of at most MAX_STATUS_BYTES.

    ``O_NONBLOCK`` keeps the open of a FIFO from waiting for a writer, and the type and size
    come from the opened descriptor, so the path cannot be swapped after the check.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StatusFileError(f"{path}: unreadable: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        problem = _kind_problem(info.st_mode, path)
        if problem is None and info.st_size > MAX_STATUS_BYTES:
            problem = _too_large(path)
    except OSError as exc:
        problem = StatusFileError(f"{path}: unreadable: {exc.strerror}")
    if problem is not None:
        os.close(fd)
        raise problem
    return OpenStatusFile(path, fd, info.st_mtime, info.st_dev)


def _kind_problem(mode: int, path: Path) -> StatusFileError | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return StatusFileError(f"{path}: status file is a directory")
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    return StatusFileError(f"{path}: status file is not a regular file but {kind}")


def _too_large(path: Path) -> StatusFileError:
    return StatusFileError(f"{path}: status file is larger than {MAX_STATUS_BYTES} bytes (1 MiB)")


class _NotFinite(StatusFileError):
    """A number strict JSON does not have; decode_status names the file."""


def _reject_constant(name: str) -> Any:
    raise _NotFinite(f"{name} is not a JSON number (status files are strict JSON: write a "
                     "finite number, a string or null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"number {text} is out of range (status files hold finite numbers "
                         "only)")
    return value


# Built once: json.loads with options builds a decoder at every call, a third of the cost
# of reading a small status file. Decoding keeps no state between calls (thread safe).
_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def decode_status(data: bytes, path: Path) -> StatusFile:
    """Strict JSON only: NaN and infinities would be copied into checkpoint.json, which
    strict readers reject."""
    try:
        raw = _STRICT.decode(data.decode(json.detect_encoding(data)))
    except _NotFinite as exc:
        raise StatusFileError(f"{path}: {exc}") from None
    except RecursionError:
        raise _too_deep(path) from None
    except UnicodeDecodeError as exc:
        raise StatusFileError(f"{path}: unreadable: {exc}") from None
    except ValueError as exc:
        raise StatusFileError(f"{path}: malformed JSON: {exc}") from None
    # Only a file with enough brackets can be too deep: most never pay for the walk.
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_STATUS_NESTING and _depth(raw) > MAX_STATUS_NESTING:
        raise _too_deep(path)
    return parse_status(raw, path)


def _too_deep(path: Path) -> StatusFileError:
    return StatusFileError(f"{path}: status file nested too deep (at most {MAX_STATUS_NESTING} "
                           "levels of arrays and objects)")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in decoded JSON; iterative, for any depth."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _expect(value: Any, kind: type, key: str, path: Path) -> Any:
    if not isinstance(value, kind):
        raise StatusFileError(f"{path}: field {key!r} must be {kind.__name__}, "
                              f"found {type(value).__name__}")
    return value


def write_status_file(path: Path | str, outcome: Outcome, meta: Mapping[str, Any]) -> None:
    """Write the engine's record of an attempt: the outcome plus engine-owned metadata."""
    payload: dict[str, Any] = {"outcome": outcome.name}
    for name in _WRITTEN_FIELDS:
        value = getattr(outcome, name)
        if value:
            payload[name] = list(value) if isinstance(value, tuple) else value
    payload.update(meta)
    # One compact line: written twice per stage, and the C encoder is several times faster.
    _replacing_a_directory(path, lambda: write_json_atomic(path, payload, compact=True))


# The Outcome fields a status file carries under their own name (status and custom are
# "outcome"), in declaration order.
_WRITTEN_FIELDS = tuple(name for name in Outcome.__match_args__ if name not in ("status", "custom"))


def report_status(run: Any, node_id: str, outcome: Outcome) -> None:
    """An in-process handler or backend reports its attempt's status as an agent writes
    status.json, without the file round trip.

    The engine's stage run (``report_status`` on it) takes the outcome as the attempt's
    canonical status: ingestion treats it as a status.json with matching ownership, and the
    engine's own status.json record is then the one file written. A stage run that does not
    offer it (a test double driving a handler directly) gets the file written at
    ``{stage_dir}/status.json`` with the ownership fields, as an agent would.
    """
    report = getattr(run, "report_status", None)
    if report is not None:
        report(outcome)
        return
    ownership = {"run_id": run.run_id, "node_id": node_id, "attempt": run.attempt}
    write_status_file(run.stage_dir / "status.json", outcome, ownership)


def replace_status_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` atomically, whatever a stage left there."""
    _replacing_a_directory(path, lambda: write_bytes_atomic(path, data))


REJECTED_SUFFIX = ".rejected"


def _replacing_a_directory(path: Path | str, write: Callable[[], None]) -> None:
    """A rename replaces a FIFO, a symlink or a file, but not a directory: a directory a
    stage left at a status path is moved to ``status.json.rejected`` (kept for inspection,
    the attempt already failed over it) and the write is retried once."""
    try:
        write()
    except ArtifactWriteError as exc:
        if exc.errno != errno.EISDIR:
            raise
        aside = Path(f"{os.fspath(path)}{REJECTED_SUFFIX}")
        try:
            os.replace(path, aside)
        except OSError:  # a non-empty directory of that name is in the way
            shutil.rmtree(path, ignore_errors=True)
        write()
