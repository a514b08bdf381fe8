"""Completing a failure: who failed, which class, which signature.

A failure passed through a conditional node keeps the id, class and
signature of the node that actually failed, so a diamond is never blamed.
"""

from __future__ import annotations

from attractor_core.model import FailureClass, Node, Outcome, StageStatus
from attractor_core.model.outcome import normalize_failure_class as normalize_class
from attractor_core.records import evolve

from .services import RunServices
from .signatures import failure_signature


def complete_failure(services: RunServices, node: Node, outcome: Outcome) -> Outcome:
    if outcome.status not in (StageStatus.FAIL, StageStatus.RETRY):
        return outcome
    failed_node = outcome.failed_node_id or node.id
    reason = outcome.failure_reason or f"node {failed_node} failed without giving a reason"
    cls = normalize_class(outcome.failure_class) or _classify(services, node, outcome, reason)
    signature = outcome.failure_signature or failure_signature(failed_node, cls, reason)
    return evolve(outcome, failed_node_id=failed_node, failure_reason=reason,
                  failure_class=cls, failure_signature=signature)


def _classify(services: RunServices, node: Node, outcome: Outcome, reason: str) -> str:
    answer = services.config.pm.hook.attractor_classify_failure(
        reason=reason, node=node, outcome=outcome, error=None)
    return normalize_class(answer or "") or FailureClass.DETERMINISTIC.value
