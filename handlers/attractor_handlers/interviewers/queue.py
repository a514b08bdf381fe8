"""The queue interviewer (spec §6.4): pre-written answers, for tests and replays."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

from attractor_core.human import Answer, AnswerValue, Question


class QueueInterviewer:
    """Hands out answers in order, one per question; ``SKIPPED`` once they run out.

    Each answer is text as a human would type it: an accelerator key, a
    label, a target node id or a 1-based option number.
    """

    def __init__(self, answers: Iterable[str | Answer], source: str = "queue"):
        self._answers: deque[Answer] = deque(
            a if isinstance(a, Answer) else Answer(a) for a in answers
        )
        self.source = source

    @classmethod
    def from_file(cls, path: Path) -> QueueInterviewer:
        """One answer per line; blank lines are ignored.

        Raises ``OSError`` when the file cannot be read.
        """
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls((line.strip() for line in lines if line.strip()), source=str(path))

    @property
    def remaining(self) -> int:
        return len(self._answers)

    async def ask(self, question: Question) -> Answer:
        if not self._answers:
            return Answer(AnswerValue.SKIPPED, text=f"no answers left in {self.source}")
        return self._answers.popleft()

    def inform(self, message: str, stage: str) -> None:
        """Replays show nothing."""
