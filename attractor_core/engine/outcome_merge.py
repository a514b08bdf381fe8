"""How a status file's outcome combines with the handler's (docs/spec-deltas.md)."""

from __future__ import annotations

from attractor_core.model import Outcome, StageStatus
from attractor_core.records import evolve


def merge_outcomes(handler: Outcome | None, from_file: Outcome) -> Outcome:
    """The file decides; it adds to the handler's context updates and details
    and never erases a field the handler set but the file left empty."""
    if handler is None or handler is from_file:  # (a status the handler reported itself)
        return from_file
    changes: dict[str, object] = {"status": from_file.status, "custom": from_file.custom}
    for name in Outcome.__match_args__:
        value = getattr(from_file, name)
        if name not in ("status", "custom", "context_updates", "details") and value:
            changes[name] = value
    changes["context_updates"] = {**handler.context_updates, **from_file.context_updates}
    changes["details"] = {**handler.details, **from_file.details}
    if from_file.status not in (StageStatus.FAIL, StageStatus.RETRY):
        # A file that reports success clears a failure the handler saw.
        for name in ("failure_reason", "failure_class", "failure_signature", "failed_node_id"):
            changes[name] = getattr(from_file, name)
    return evolve(handler, **changes)
