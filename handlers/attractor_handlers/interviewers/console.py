"""The console interviewer (spec §6.4): asks on stderr, reads answers from stdin.

stdin is read through ``trio.lowlevel.FdStream`` on a duplicate of the
descriptor, so a stage timeout or a run cancellation interrupts the read
at once; no thread is left blocked in ``read``. Tool processes get
``/dev/null`` as stdin, so they never steal the human's answers.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

import trio

from attractor_core.sdk import Answer, AnswerValue, Question, QuestionType
from attractor_handlers.choices import find_option, option_text
from attractor_handlers.interviewers.in_turn import AsksInTurn

# How many answers that name no option the console takes before the gate fails.
MAX_TRIES = 3
_YES = frozenset({"y", "yes"})
_NO = frozenset({"n", "no"})


class ConsoleInterviewer(AsksInTurn):
    """Prompts a human at the terminal; re-asks on input that names no option,
    and after ``MAX_TRIES`` such answers gives up (``SKIPPED``: the gate fails).

    End of input (stdin closed or ``/dev/null``) is "no answer": the
    question's default if it has one, else ``SKIPPED``. Text read past the
    end of one answer is kept for the next question, so answers can be
    piped in ahead of time.
    """

    def __init__(self, input_fd: int = 0, output: TextIO | None = None):
        self._fd = input_fd
        self._output = output
        self._buffer = bytearray()
        self._eof = False
        # Gates in parallel branches take turns: one question on the terminal at a time.
        self._turn = trio.Lock()

    async def ask(self, question: Question) -> Answer:
        async with self._turn:
            return await self._ask(question)

    async def _ask(self, question: Question) -> Answer:
        self._show(question)
        typed: list[str] = []
        while True:
            line = await self._read_line()
            if line is None:
                return question.default or Answer(
                    AnswerValue.SKIPPED, text="console input closed before an answer")
            answer = _interpret(line, question)
            if answer is not None:
                return answer
            typed.append(line)
            if len(typed) >= MAX_TRIES:
                said = ", ".join(repr(t) for t in typed)
                self._write(f"{line!r} is not an option either; giving up after "
                            f"{MAX_TRIES} tries\n")
                return Answer(AnswerValue.SKIPPED, text=(
                    f"no valid answer after {MAX_TRIES} tries ({said}); {_hint(question)}"))
            self._write(f"{line!r} is not an option; {_hint(question)}\n{_prompt(question)}")

    def inform(self, message: str, stage: str) -> None:
        self._write(f"[i] {stage}: {message}\n" if stage else f"[i] {message}\n")

    def _show(self, question: Question) -> None:
        lines = [f"[?] {question.text}"]
        lines += [f"  {option_text(o)}" for o in question.options]
        if question.timeout_seconds is not None:
            default = question.default.describe() if question.default else "none"
            lines.append(f"  (answer within {question.timeout_seconds:g}s; default: {default})")
        self._write("\n".join(lines) + "\n" + _prompt(question))

    def _write(self, text: str) -> None:
        out = self._output or sys.stderr
        out.write(text)
        out.flush()

    async def _read_line(self) -> str | None:
        while b"\n" not in self._buffer and not self._eof:
            chunk = await self._receive()
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True
        if not self._buffer:
            return None
        raw, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return raw.decode("utf-8", errors="replace").strip()

    async def _receive(self) -> bytes:
        # A fresh dup per read: FdStream makes its descriptor non-blocking and
        # restores the mode on close, so the terminal is left as we found it.
        stream = trio.lowlevel.FdStream(os.dup(self._fd))
        try:
            return bytes(await stream.receive_some(4096))
        finally:
            stream.close()


def _interpret(line: str, question: Question) -> Answer | None:
    if question.type in (QuestionType.YES_NO, QuestionType.CONFIRMATION):
        lowered = line.lower()
        if lowered in _YES:
            return Answer(AnswerValue.YES)
        return Answer(AnswerValue.NO) if lowered in _NO else None
    if question.type is QuestionType.FREEFORM:
        return Answer(line, text=line)
    option = find_option(line, question.options)
    return None if option is None else Answer(option.key, selected_option=option)


def _prompt(question: Question) -> str:
    if question.type in (QuestionType.YES_NO, QuestionType.CONFIRMATION):
        return "[Y/N]: "
    return "> " if question.type is QuestionType.FREEFORM else "Select: "


def _hint(question: Question) -> str:
    if question.type is QuestionType.MULTIPLE_CHOICE:
        keys = ", ".join(o.key for o in question.options)
        return f"type one of {keys} (or a label or number)"
    return "type y or n"
