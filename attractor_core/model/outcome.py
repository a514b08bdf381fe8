"""Stage outcomes (spec §5.2) and the failure classes of our runtime contract."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from attractor_core.model.branch import FanOutReport
from attractor_core.model.values import to_str_tuple


class StageStatus(enum.Enum):
    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    RETRY = "retry"
    FAIL = "fail"
    SKIPPED = "skipped"

    @classmethod
    def parse(cls, text: str) -> StageStatus:
        """Accept any case (status files are written by agents); raise ``ValueError`` otherwise."""
        return cls(text.strip().lower())

    @property
    def is_success(self) -> bool:
        return self in (StageStatus.SUCCESS, StageStatus.PARTIAL_SUCCESS)


class FailureClass(enum.Enum):
    """Why a stage failed; decides whether a retry can help (docs/spec-deltas.md)."""

    TRANSIENT_INFRA = "transient_infra"
    DETERMINISTIC = "deterministic"
    CANCELED = "canceled"
    BUDGET_EXHAUSTED = "budget_exhausted"
    COMPILATION_LOOP = "compilation_loop"
    STRUCTURAL = "structural"


# Spellings agents and handlers use for the classes (docs/spec-deltas.md).
FAILURE_CLASS_ALIASES: dict[str, str] = {
    "transient": FailureClass.TRANSIENT_INFRA.value,
    "transient_infra": FailureClass.TRANSIENT_INFRA.value,
    "infra": FailureClass.TRANSIENT_INFRA.value,
    "retryable": FailureClass.TRANSIENT_INFRA.value,
    "deterministic": FailureClass.DETERMINISTIC.value,
    "permanent": FailureClass.DETERMINISTIC.value,
    "terminal": FailureClass.DETERMINISTIC.value,
    "canceled": FailureClass.CANCELED.value,
    "cancelled": FailureClass.CANCELED.value,
    "budget_exhausted": FailureClass.BUDGET_EXHAUSTED.value,
    "budget": FailureClass.BUDGET_EXHAUSTED.value,
    "compilation_loop": FailureClass.COMPILATION_LOOP.value,
    "structural": FailureClass.STRUCTURAL.value,
    "pipeline": FailureClass.STRUCTURAL.value,
}


def normalize_failure_class(hint: str) -> str:
    """The canonical class for a hint, or "" if the hint is empty or unknown."""
    return FAILURE_CLASS_ALIASES.get(hint.strip().lower().replace("-", "_").replace(" ", "_"), "")


@frozen
class Outcome:
    """The result of one stage attempt.

    ``failed_node_id`` names the node that actually failed, so that a
    conditional node passing a failure through is never blamed for it.
    """

    status: StageStatus
    preferred_label: str = ""
    suggested_next_ids: tuple[str, ...] = field(default=(), converter=to_str_tuple)
    context_updates: Mapping[str, Any] = field(factory=dict)
    notes: str = ""
    failure_reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    failed_node_id: str = ""
    details: Mapping[str, Any] = field(factory=dict)
    # A parallel fan-out's verdict and failed branches (final.json ``fan_outs``).
    fan_out: FanOutReport | None = None

    @classmethod
    def success(cls, notes: str = "", **kwargs: Any) -> Outcome:
        return cls(StageStatus.SUCCESS, notes=notes, **kwargs)

    @classmethod
    def fail(cls, reason: str, failure_class: str = "", **kwargs: Any) -> Outcome:
        return cls(StageStatus.FAIL, failure_reason=reason, failure_class=failure_class, **kwargs)
