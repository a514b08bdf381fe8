"""The ``progress.ndjson`` sink: one JSON event per line in the logs root."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attractor_core.sdk import compact_json_bytes

PROGRESS_FILE = "progress.ndjson"


class ProgressNdjsonSink:
    """Appends each event as one line, with a single ``write`` and a flush (the events of a
    group the engine emits together: one ``write`` for all their lines).

    The file is opened in append mode, so a resumed run continues it. No torn line is ever
    left in the middle of the file: a kill can leave the last line unterminated (readers
    skip it, and the next run on this logs root cuts it off before appending), and a write
    that stops part way (a full disk) is completed or taken back.
    """

    def __init__(self, logs_root: Path):
        self._fd = os.open(logs_root / PROGRESS_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        _cut_torn_tail(self._fd)

    def emit(self, event: Mapping[str, Any]) -> None:
        self._append(compact_json_bytes(event, newline=True))

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Several events' lines in one ``write``: a kill can still cut only the last line."""
        self._append(b"".join([compact_json_bytes(e, newline=True) for e in events]))

    def _append(self, line: bytes) -> None:
        written = os.write(self._fd, line)
        if written < len(line):
            self._finish(line, written)

    def _finish(self, line: bytes, written: int) -> None:
        start = os.lseek(self._fd, 0, os.SEEK_END) - written
        rest = memoryview(line)[written:]
        try:
            while rest:
                rest = rest[os.write(self._fd, rest):]
        except OSError:
            os.ftruncate(self._fd, start)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


_TAIL_CHUNK = 65536


def _cut_torn_tail(fd: int) -> None:
    """Truncate the file after its last newline, so that appending starts a fresh line."""
    end = os.lseek(fd, 0, os.SEEK_END)
    position = end
    while position > 0:
        start = max(0, position - _TAIL_CHUNK)
        chunk = os.pread(fd, position - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            position = start + newline + 1
            break
        position = start
    if position < end:
        os.ftruncate(fd, position)
