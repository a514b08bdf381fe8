"""Human gates parked as files: how the ``http`` interviewer and the server talk.

A run asking a question writes ``questions/<qid>.json`` in its run directory;
the server lists those files and answers one by writing
``questions/<qid>.answer.json`` next to it. Both are written atomically, so a
reader never sees half a file, and they work the same for runs the server
started and runs started by ``attractor run --interviewer http``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attractor_core.sdk import Answer, Option, Question, utc_now_iso, write_json_atomic

QUESTIONS_DIR = "questions"
QID = re.compile(r"q-[0-9a-f]{12}")


def run_root_of(logs_root: Path) -> Path:
    """The run directory that holds ``logs_root`` (a branch may run in a directory below it):
    the nearest directory upwards with a manifest.json, else ``logs_root`` itself."""
    for candidate in (logs_root, *logs_root.parents):
        if (candidate / "manifest.json").is_file():
            return candidate
    return logs_root


def question_record(question: Question, qid: str) -> dict[str, Any]:
    default = question.default
    return {
        "id": qid,
        "stage": question.stage,
        "text": question.text,
        "type": question.type.value,
        "options": [{"key": o.key, "label": o.label} for o in question.options],
        "default": (default.selected_option.key if default and default.selected_option
                    else None),
        "timeout_seconds": question.timeout_seconds,
        "execution": question.metadata.get("execution"),
        "attempt": question.metadata.get("attempt"),
        "asked_at": utc_now_iso(),
    }


def park(run_root: Path, question: Question) -> tuple[str, Path]:
    """Write the question file; return its id and path."""
    directory = run_root / QUESTIONS_DIR
    directory.mkdir(exist_ok=True)
    qid = f"q-{secrets.token_hex(6)}"
    path = directory / f"{qid}.json"
    write_json_atomic(path, question_record(question, qid))
    return qid, path


def answer_path(question_path: Path) -> Path:
    return question_path.with_name(question_path.stem + ".answer.json")


def read_answer(question: Question, question_path: Path) -> Answer | None:
    """The answer the server left for this question, or None while there is none."""
    try:
        record = json.loads(answer_path(question_path).read_text(encoding="utf-8"))
        value = str(record["value"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    option = match_option(question.options, value)
    if option is not None:
        return Answer(option.key, selected_option=option)
    return Answer(value, text=value)


_ACCELERATOR = re.compile(r"^\s*(\[\w+\]|\w+\)|\w+ -)\s*")


def match_option(options: tuple[Option, ...] | list[Option], value: str) -> Option | None:
    """The option ``value`` names: its key, its label, or its label without the
    accelerator (``Yes`` for ``[Y] Yes``); case does not matter."""
    wanted = value.strip().lower()
    for option in options:
        label = option.label.lower()
        if wanted in (option.key.lower(), label, _ACCELERATOR.sub("", label)):
            return option
    return None


def withdraw(question_path: Path) -> None:
    """Remove a question and its answer (answered, timed out or canceled)."""
    for path in (question_path, answer_path(question_path)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def pending(run_root: Path) -> list[dict[str, Any]]:
    """The questions waiting for an answer, oldest first."""
    directory = run_root / QUESTIONS_DIR
    if not directory.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for path in directory.glob("q-*.json"):
        if not QID.fullmatch(path.stem) or answer_path(path).exists():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, Mapping):
            found.append(dict(record))
    return sorted(found, key=lambda r: str(r.get("asked_at", "")))


class AnswerRefused(ValueError):
    """The answer cannot be given: no such question, already answered, or not an option."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def give_answer(run_root: Path, qid: str, value: str) -> dict[str, Any]:
    """Answer question ``qid`` of the run; raises :class:`AnswerRefused`."""
    if not QID.fullmatch(qid):
        raise AnswerRefused(404, f"no question {qid!r}: question ids look like q-0123456789ab")
    path = run_root / QUESTIONS_DIR / f"{qid}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise AnswerRefused(404, f"no pending question {qid}: it was answered, timed out "
                                 "or never asked") from None
    options = [Option(str(o["key"]), str(o["label"])) for o in record.get("options", [])]
    if options and match_option(options, value) is None:
        choices = ", ".join(f"{o.key} ({o.label})" for o in options)
        raise AnswerRefused(422, f"{value!r} is not an option of {qid}; answer one of: "
                                 f"{choices}")
    target = answer_path(path)
    if target.exists():
        raise AnswerRefused(409, f"question {qid} is already answered")
    write_json_atomic(target, {"value": value, "answered_at": utc_now_iso()})
    return {"id": qid, "value": value}
