"""The recording interviewer (spec §6.4): wraps another and keeps every question and answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attractor_core.sdk import CONVERTER, Answer, Question, write_json_atomic
from attractor_handlers.interviewers.in_turn import AsksInTurn

RECORD_FILE = "interviews.json"


class RecordingInterviewer(AsksInTurn):
    """Delegates to ``inner`` and records each (question, answer) pair.

    The records are kept in :attr:`recordings` and, after every answer,
    written atomically as a JSON list to ``path`` or, when no path was
    given, to ``interviews.json`` in the run's logs root (taken from the
    question's ``metadata["logs_root"]``). Records already in the file are
    kept, so a resumed run appends to the same audit trail.
    """

    def __init__(self, inner: Any, path: Path | None = None):
        self.inner = inner
        self.path = path
        self.recordings: list[tuple[Question, Answer]] = []

    async def ask(self, question: Question) -> Answer:
        answer: Answer = await self.inner.ask(question)
        self.recordings.append((question, answer))
        target = self._target(question)
        if target is not None:
            _append_record(target, question, answer)
        return answer

    def inform(self, message: str, stage: str) -> None:
        self.inner.inform(message, stage)

    def _target(self, question: Question) -> Path | None:
        if self.path is not None:
            return self.path
        logs_root = question.metadata.get("logs_root")
        return Path(logs_root) / RECORD_FILE if logs_root else None


def _append_record(path: Path, question: Question, answer: Answer) -> None:
    records = _read_records(path)
    records.append(
        {"question": CONVERTER.unstructure(question), "answer": CONVERTER.unstructure(answer)}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, records)


def _read_records(path: Path) -> list[Any]:
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return existing if isinstance(existing, list) else []
