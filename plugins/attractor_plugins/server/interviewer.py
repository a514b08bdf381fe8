"""The ``http`` interviewer (``--interviewer http``): questions answered from the web.

Each question is parked as a file in the run directory (see :mod:`.questions`)
where ``attractor serve`` lists it; the interviewer waits until the server
writes the answer. The gate's own timeout still applies: the wait is
cancelled by the handler's deadline and the question is withdrawn, as it is
when the run is canceled. Several gates waiting at once each have their own
file and are answered independently.
"""

from __future__ import annotations

from pathlib import Path

import trio

from attractor_core.sdk import Answer, Question

from .questions import park, read_answer, run_root_of, withdraw

POLL_SECONDS = 0.1  # how often a waiting gate looks for its answer file


class HttpInterviewer:
    async def ask(self, question: Question) -> Answer:
        logs_root = question.metadata.get("logs_root")
        root = run_root_of(Path(str(logs_root))) if logs_root else Path.cwd()
        _, path = park(root, question)
        try:
            while True:
                answer = read_answer(question, path)
                if answer is not None:
                    return answer
                await trio.sleep(POLL_SECONDS)
        finally:
            withdraw(path)

    def inform(self, message: str, stage: str) -> None:
        """Messages show in the event log the server streams; nothing more to do."""
