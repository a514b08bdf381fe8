"""Stage outcomes (spec §5.2); the statuses and failure classes live in ``model.status``
and are re-exported here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from attractor_core.model.fan_out import FanOutReport
from attractor_core.model.status import (
    CANONICAL_OUTCOMES,
    FAILURE_CLASS_ALIASES,
    OUTCOME_TOKEN,
    FailureClass,
    OutcomeTokenError,
    StageStatus,
    is_custom_outcome,
    normalize_failure_class,
    outcome_passes,
    parse_outcome,
)
from attractor_core.model.values import to_str_tuple
from attractor_core.records import Record

__all__ = [
    "CANONICAL_OUTCOMES",
    "FAILURE_CLASS_ALIASES",
    "OUTCOME_TOKEN",
    "FailureClass",
    "Outcome",
    "OutcomeTokenError",
    "StageStatus",
    "is_custom_outcome",
    "normalize_failure_class",
    "outcome_passes",
    "parse_outcome",
]


class Outcome(Record):
    """The result of one stage attempt.

    ``failed_node_id`` names the node that actually failed, so that a
    conditional node passing a failure through is never blamed for it.
    ``custom`` is a custom outcome token (``needs_dod``); its ``status`` is
    ``SUCCESS``, and ``name`` is what conditions, the context key
    ``outcome`` and status files see.
    ``resume_at`` names the node where traversal continues, bypassing edge
    selection: a fan-out has already run its branches (its unconditional
    edges), so its successful stage resumes at the join they meet at.
    """

    __match_args__ = __slots__ = (
        "status", "preferred_label", "suggested_next_ids", "context_updates", "notes",
        "failure_reason", "failure_class", "failure_signature", "failed_node_id", "details",
        "custom", "fan_out", "resume_at",
    )
    status: StageStatus
    preferred_label: str
    suggested_next_ids: tuple[str, ...]
    context_updates: Mapping[str, Any]
    notes: str
    failure_reason: str
    failure_class: str
    failure_signature: str
    failed_node_id: str
    details: Mapping[str, Any]
    custom: str
    # A parallel fan-out's verdict and failed branches (final.json ``fan_outs``).
    fan_out: FanOutReport | None
    resume_at: str

    def __init__(self, status: StageStatus, preferred_label: str = "",
                 suggested_next_ids: Iterable[str] = (),
                 context_updates: Mapping[str, Any] | None = None, notes: str = "",
                 failure_reason: str = "", failure_class: str = "", failure_signature: str = "",
                 failed_node_id: str = "", details: Mapping[str, Any] | None = None,
                 custom: str = "", fan_out: FanOutReport | None = None,
                 resume_at: str = "") -> None:
        if custom and (status is not StageStatus.SUCCESS or not is_custom_outcome(custom)):
            raise TypeError(f"custom outcome {custom!r} must be a non-status outcome word with "
                            f"status success, not {status.value}; use Outcome.named()")
        setter = object.__setattr__
        setter(self, "status", status)
        setter(self, "preferred_label", preferred_label)
        setter(self, "suggested_next_ids", to_str_tuple(suggested_next_ids))
        setter(self, "context_updates", {} if context_updates is None else context_updates)
        setter(self, "notes", notes)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failure_signature", failure_signature)
        setter(self, "failed_node_id", failed_node_id)
        setter(self, "details", {} if details is None else details)
        setter(self, "custom", custom)
        setter(self, "fan_out", fan_out)
        setter(self, "resume_at", resume_at)

    @property
    def name(self) -> str:
        """The outcome as conditions see it: the custom token, else the status value."""
        return self.custom or self.status.value

    @classmethod
    def named(cls, text: str, **kwargs: Any) -> Outcome:
        """An outcome from a token (``success``, ``FAIL``, ``needs_dod``); raises
        :class:`OutcomeTokenError` for text that is not one."""
        status, custom = parse_outcome(text)
        return cls(status, custom=custom, **kwargs)

    @classmethod
    def success(cls, notes: str = "", **kwargs: Any) -> Outcome:
        return cls(StageStatus.SUCCESS, notes=notes, **kwargs)

    @classmethod
    def fail(cls, reason: str, failure_class: str = "", **kwargs: Any) -> Outcome:
        return cls(StageStatus.FAIL, failure_reason=reason, failure_class=failure_class, **kwargs)
