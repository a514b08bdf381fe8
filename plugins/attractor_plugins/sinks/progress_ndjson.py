"""The ``progress.ndjson`` sink: one JSON event per line in the logs root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attractor_core.runtime.serialization import compact_json

PROGRESS_FILE = "progress.ndjson"


class ProgressNdjsonSink:
    """Appends each event as one line, with a single ``write`` and a flush.

    The file is opened in append mode, so a resumed run continues it and a
    crash can at worst leave the last line unterminated; readers skip a
    final line without a newline.
    """

    def __init__(self, logs_root: Path):
        self._fd = os.open(logs_root / PROGRESS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, event: Mapping[str, Any]) -> None:
        line = compact_json(event) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
