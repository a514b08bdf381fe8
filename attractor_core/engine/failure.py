"""Completing a failure: who failed, which class, which signature.

A failure passed through a conditional node keeps the id, class and
signature of the node that actually failed, so a diamond is never blamed.
"""

from __future__ import annotations

import attrs

from attractor_core.model import FailureClass, Node, Outcome, StageStatus

from .services import RunServices
from .signatures import failure_signature

# Spellings agents and handlers use for the classes (docs/spec-deltas.md).
CLASS_ALIASES: dict[str, str] = {
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


def normalize_class(hint: str) -> str:
    """The canonical class for a hint, or "" if the hint is empty or unknown."""
    return CLASS_ALIASES.get(hint.strip().lower().replace("-", "_").replace(" ", "_"), "")


def complete_failure(services: RunServices, node: Node, outcome: Outcome) -> Outcome:
    if outcome.status not in (StageStatus.FAIL, StageStatus.RETRY):
        return outcome
    failed_node = outcome.failed_node_id or node.id
    reason = outcome.failure_reason or f"node {failed_node} failed without giving a reason"
    cls = normalize_class(outcome.failure_class) or _classify(services, node, outcome, reason)
    signature = outcome.failure_signature or failure_signature(failed_node, cls, reason)
    return attrs.evolve(outcome, failed_node_id=failed_node, failure_reason=reason,
                        failure_class=cls, failure_signature=signature)


def _classify(services: RunServices, node: Node, outcome: Outcome, reason: str) -> str:
    answer = services.pm.hook.attractor_classify_failure(
        reason=reason, node=node, outcome=outcome, error=None)
    return normalize_class(answer or "") or FailureClass.DETERMINISTIC.value
