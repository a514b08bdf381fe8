"""``ask_multiple`` (spec §6.1) for interviewers that put one question at a time."""

from __future__ import annotations

from collections.abc import Iterable

from attractor_core.sdk import Answer, Question


class AsksInTurn:
    """Asks a batch of questions one after another, in order, through ``ask``.

    A human answers one prompt at a time, and a recording or a queue must
    see the questions in the order they were given, so the built-in
    interviewers never ask a batch concurrently.
    """

    async def ask(self, question: Question) -> Answer:
        raise NotImplementedError

    async def ask_multiple(self, questions: Iterable[Question]) -> list[Answer]:
        return [await self.ask(question) for question in questions]
