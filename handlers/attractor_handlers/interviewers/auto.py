"""The auto-approve interviewer (spec §6.4): for CI and unattended runs."""

from __future__ import annotations

from attractor_core.sdk import Answer, AnswerValue, Question, QuestionType
from attractor_handlers.interviewers.in_turn import AsksInTurn


class AutoApproveInterviewer(AsksInTurn):
    """Answers YES to yes/no questions and picks the first option otherwise.

    On a human gate the first option is the first declared outgoing edge,
    so put the "approve" edge first.
    """

    async def ask(self, question: Question) -> Answer:
        if question.type in (QuestionType.YES_NO, QuestionType.CONFIRMATION):
            return Answer(AnswerValue.YES)
        if question.options:
            first = question.options[0]
            return Answer(first.key, selected_option=first)
        return Answer("auto-approved", text="auto-approved")

    def inform(self, message: str, stage: str) -> None:
        """Nobody is watching: nothing to show."""
