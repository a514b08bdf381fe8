"""``Checkpointer``: writes one lane's resume state as a snapshot plus a journal.

The main path writes ``{logs_root}/checkpoint.json``; each parallel branch
writes its own in its branch directory, with the same code, so a branch
in flight at a crash resumes from its own last stage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from attractor_core.model.branch import BranchResult
from attractor_core.runtime.checkpoint import CheckpointJournal, InFlight, save_checkpoint

from .state import RunState

# A snapshot at least this often, and whenever the journal is as long as the history.
SNAPSHOT_EVERY = 256


class Checkpointer:
    def __init__(self, path: Path, run_id: str, state: RunState, *, journal_seq: int = 0):
        self.path = path
        self.run_id = run_id
        self.state = state
        self._journal: CheckpointJournal | None = None
        self._journal_seq = journal_seq
        self._entries = 0
        self._last_position: tuple[str, str, InFlight | None] | None = None
        # A completed stage's position not written yet, and what to announce once it is.
        self._announce: Callable[[], None] | None = None

    @property
    def in_flight(self) -> InFlight | None:
        """The stage in flight at the last checkpoint, if any."""
        return self._last_position[2] if self._last_position is not None else None

    def write(self, current: str, next_node: str, in_flight: InFlight | None) -> None:
        """A journal entry per call; a full snapshot when the journal has grown as long
        as the lane's history (so the total cost stays linear in the lane's length)."""
        state = self.state
        self._last_position = (current, next_node, in_flight)
        limit = max(SNAPSHOT_EVERY, len(state.completed_nodes))
        if self._journal is None or state.needs_snapshot() or self._entries >= limit:
            self.snapshot()
            return
        self._journal_seq += 1
        delta = state.take_delta(current, next_node, in_flight)
        delta["seq"] = self._journal_seq
        self._journal.append(delta)
        self._entries += 1
        self._announced()

    def write_with_next(self, current: str, next_node: str,
                        announce: Callable[[], None]) -> None:
        """A completed stage's position, written as part of the next entry: the next stage
        checkpoints its in-flight attempt at once, so one journal entry says both. A crash
        before that entry finds the completed stage still in flight and runs it again, as a
        crash during it would. ``announce`` (the ``checkpoint_saved`` event) runs once the
        position is durable; :meth:`flush` writes it when no next entry follows."""
        self.flush()
        self._last_position = (current, next_node, None)
        self._announce = announce

    def flush(self) -> None:
        """Write a position held by :meth:`write_with_next`, if any."""
        if self._announce is not None and self._last_position is not None:
            self.write(*self._last_position)

    def _announced(self) -> None:
        announce, self._announce = self._announce, None
        if announce is not None:
            announce()

    def snapshot(self, *, stopped_cleanly: bool = False) -> None:
        """A complete checkpoint.json, after which the journal is emptied. Nothing is
        written before the lane's first checkpoint."""
        if self._last_position is None:
            return
        current, next_node, in_flight = self._last_position
        cp = self.state.to_checkpoint(self.run_id, current, next_node, in_flight,
                                      journal_seq=self._journal_seq,
                                      stopped_cleanly=stopped_cleanly and in_flight is not None)
        save_checkpoint(self.path, cp)
        self.state.mark_snapshot()
        if self._journal is None:
            self._journal = CheckpointJournal(self.path)
        self._journal.reset()
        self._entries = 0
        self._announced()

    def record_result(self, result: BranchResult) -> None:
        """A branch's ending, as one more entry at its last position."""
        self.state.branch_result = result
        if self._last_position is not None:
            self.write(*self._last_position)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
