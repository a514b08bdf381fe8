"""Stage statuses, outcome tokens (spec §5.2) and the failure classes of our runtime
contract: the words without the ``Outcome`` record, for lint rules that check them."""

from __future__ import annotations

import enum
import re

from attractor_core.errors import AttributeSyntaxError


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


CANONICAL_OUTCOMES = frozenset(s.value for s in StageStatus)
OUTCOME_TOKEN = re.compile(r"[a-z][a-z0-9_]*")


class OutcomeTokenError(AttributeSyntaxError):
    """Text that is not an outcome token; the message says what a token looks like."""


def parse_outcome(text: str) -> tuple[StageStatus, str]:
    """``(status, custom)`` for an outcome token written by an agent or a script.

    Case is folded. A canonical status keeps its meaning (``custom`` is "");
    any other token is a custom outcome: a routing decision, so its status
    is ``SUCCESS`` until routing finds that no edge matches it
    (docs/spec-deltas.md). Raises :class:`OutcomeTokenError` for text that
    is not a token (``[a-z][a-z0-9_]*``).
    """
    token = text.strip().lower()
    if not OUTCOME_TOKEN.fullmatch(token):
        raise OutcomeTokenError(
            f"{text!r} is not an outcome: use success, partial_success, retry, fail, skipped or "
            "a custom word your edges route on (a letter, then letters, digits or _)")
    if token in CANONICAL_OUTCOMES:
        return StageStatus(token), ""
    return StageStatus.SUCCESS, token


def is_custom_outcome(name: str) -> bool:
    """A recorded outcome name that is a custom routing decision, not a canonical status."""
    return name not in CANONICAL_OUTCOMES and OUTCOME_TOKEN.fullmatch(name) is not None


def outcome_passes(name: str) -> bool:
    """Does a recorded outcome satisfy a goal gate or count as a successful branch?
    ``success``, ``partial_success`` and custom outcomes (routing decisions) do."""
    return name in (StageStatus.SUCCESS.value, StageStatus.PARTIAL_SUCCESS.value) or (
        is_custom_outcome(name))


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
