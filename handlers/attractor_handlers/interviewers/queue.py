"""The queue interviewer (spec §6.4): pre-written answers, for tests and replays."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from attractor_core.sdk import Answer, AnswerValue, Question, read_json_object, write_json_atomic
from attractor_handlers.interviewers.in_turn import AsksInTurn

STATE_FILE = "interviewer_queue.json"


class QueueInterviewer(AsksInTurn):
    """Hands out answers in order, one per question; ``SKIPPED`` once they run out.

    Each answer is text as a human would type it: an accelerator key, a
    label, a target node id or a 1-based option number.

    With ``persist=True`` (how ``queue:FILE`` is built) the position is kept
    in ``interviewer_queue.json`` in the run's logs root, keyed by the asking
    stage and its execution number: a resumed run continues after the
    answers already used, and a gate re-asked after a crash gets the same
    answer it got before.
    """

    def __init__(self, answers: Iterable[str | Answer], source: str = "queue",
                 persist: bool = False):
        self._answers = [a if isinstance(a, Answer) else Answer(a) for a in answers]
        self.source = source
        self._persist = persist
        self._next = 0
        self._given: dict[str, int] = {}
        self._loaded_from: Path | None = None

    @classmethod
    def from_file(cls, path: Path) -> QueueInterviewer:
        """One answer per line; blank lines are ignored.

        Raises ``OSError`` when the file cannot be read.
        """
        lines = path.read_text(encoding="utf-8").splitlines()
        answers = (line.strip() for line in lines if line.strip())
        return cls(answers, source=str(path.resolve()), persist=True)

    @property
    def remaining(self) -> int:
        return max(0, len(self._answers) - self._next)

    async def ask(self, question: Question) -> Answer:
        state = self._state_path(question)
        if state is None:
            index = self._next
            self._next += 1
        else:
            index = self._persisted_index(question, state)
        if index >= len(self._answers):
            return Answer(AnswerValue.SKIPPED, text=f"no answers left in {self.source}")
        return self._answers[index]

    def inform(self, message: str, stage: str) -> None:
        """Replays show nothing."""

    def _persisted_index(self, question: Question, state: Path) -> int:
        if self._loaded_from != state:
            self._load(state)
        key = f"{question.stage}#{question.metadata.get('execution', '')}"
        if key not in self._given:
            self._given[key] = self._next
            self._next += 1
            self._save(state)
        return self._given[key]

    def _state_path(self, question: Question) -> Path | None:
        logs_root = question.metadata.get("logs_root")
        return Path(logs_root) / STATE_FILE if self._persist and logs_root else None

    def _load(self, path: Path) -> None:
        self._loaded_from = path
        saved = read_json_object(path) or {}
        if saved.get("source") == self.source:
            self._next = int(saved.get("next", 0))
            self._given = {str(k): int(v) for k, v in dict(saved.get("given", {})).items()}

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"source": self.source, "next": self._next, "given": self._given})

