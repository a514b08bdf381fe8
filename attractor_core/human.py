"""The interviewer value classes (spec §6.2, §6.3): Question, Option, Answer.

They live in the kernel so that a third-party interviewer (a Slack bot, a
web UI) can build and read them without depending on the built-in
handlers. An interviewer is any object with ``async ask(question) ->
Answer`` and ``inform(message, stage) -> None``; the built-in ones are in
``attractor_handlers.interviewers`` and also answer a batch with
``ask_multiple(questions)`` (spec §6.1).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import field, frozen


class QuestionType(enum.Enum):
    YES_NO = "yes_no"
    MULTIPLE_CHOICE = "multiple_choice"
    FREEFORM = "freeform"
    CONFIRMATION = "confirmation"


class AnswerValue(enum.Enum):
    """The answers that are not a choice: yes/no, and the two kinds of "no answer"."""

    YES = "yes"
    NO = "no"
    SKIPPED = "skipped"
    TIMEOUT = "timeout"


@frozen
class Option:
    """One choice: ``key`` is the accelerator (``"A"``), ``label`` the display text."""

    key: str
    label: str


@frozen
class Answer:
    """What the human said.

    ``value`` is an :class:`AnswerValue` or the text typed (an option key,
    label or number); ``selected_option`` is set when the interviewer
    already knows which option was picked; ``text`` carries free text.
    """

    value: str | AnswerValue = ""
    selected_option: Option | None = None
    text: str = ""

    @property
    def is_timeout(self) -> bool:
        return self.value is AnswerValue.TIMEOUT

    @property
    def is_skipped(self) -> bool:
        return self.value is AnswerValue.SKIPPED

    def describe(self) -> str:
        """A one-line rendering for events and logs."""
        if self.selected_option is not None:
            return self.selected_option.label
        if isinstance(self.value, AnswerValue):
            return self.value.value
        return self.value or self.text


def _options(values: Iterable[Option]) -> tuple[Option, ...]:
    return tuple(values)


@frozen
class Question:
    """A question for a human.

    ``stage`` is the asking node's id. ``metadata`` carries where it is
    asked from (``run_id``, ``logs_root``, ``stage_dir``, ``attempt``) so
    that an interviewer can record or route answers per run.
    """

    text: str
    type: QuestionType = QuestionType.MULTIPLE_CHOICE
    options: tuple[Option, ...] = field(default=(), converter=_options)
    default: Answer | None = None
    timeout_seconds: float | None = None
    stage: str = ""
    metadata: Mapping[str, Any] = field(factory=dict)
