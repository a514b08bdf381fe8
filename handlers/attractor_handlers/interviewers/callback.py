"""The callback interviewer (spec §6.4): answers come from a Python function."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from attractor_core.sdk import Answer, Question
from attractor_handlers.interviewers.in_turn import AsksInTurn

AnswerFunction = Callable[[Question], "Answer | str | Awaitable[Answer | str]"]


class CallbackInterviewer(AsksInTurn):
    """Wraps ``callback(question)``, sync or async, returning an ``Answer`` or plain text.

    A sync callback runs on the event loop, so it must return quickly;
    anything that waits (HTTP, a chat message) should be ``async``.
    """

    def __init__(
        self, callback: AnswerFunction, on_inform: Callable[[str, str], None] | None = None
    ):
        self._callback = callback
        self._on_inform = on_inform

    async def ask(self, question: Question) -> Answer:
        result = self._callback(question)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Answer):
            return result
        if isinstance(result, str):
            return Answer(result)
        raise TypeError(
            f"interviewer callback returned {type(result).__name__}; return an Answer or a str"
        )

    def inform(self, message: str, stage: str) -> None:
        if self._on_inform is not None:
            self._on_inform(message, stage)
