"""Retry policy (spec §3.5-3.6): attempts, backoff with jitter, named presets,
and the class gate that decides whether a failure is worth another attempt."""

from __future__ import annotations

import random

from attrs import frozen

from attractor_core.model import FailureClass, Graph, Node, Outcome, StageStatus


@frozen
class Backoff:
    initial_delay_ms: int = 200
    factor: float = 2.0
    max_delay_ms: int = 60_000
    jitter: bool = True

    def delay_ms(self, retry_number: int, rng: random.Random) -> int:
        """Delay before retry ``retry_number`` (1 = the first retry)."""
        delay = min(self.initial_delay_ms * self.factor ** (retry_number - 1), self.max_delay_ms)
        if self.jitter:
            delay *= rng.uniform(0.5, 1.5)
        return int(delay)


PRESETS: dict[str, tuple[int, Backoff]] = {
    "none": (1, Backoff()),
    "standard": (5, Backoff(200, 2.0)),
    "aggressive": (5, Backoff(500, 2.0)),
    "linear": (3, Backoff(500, 1.0)),
    "patient": (3, Backoff(2000, 3.0)),
}

RETRYABLE_CLASSES = frozenset({
    FailureClass.TRANSIENT_INFRA.value,
    FailureClass.BUDGET_EXHAUSTED.value,
    FailureClass.COMPILATION_LOOP.value,
})


@frozen
class RetryPolicy:
    max_attempts: int
    backoff: Backoff

    @classmethod
    def for_node(cls, node: Node, graph: Graph) -> RetryPolicy:
        """``max_retries`` (else the graph default) wins; ``retry_policy=<preset>``
        picks the backoff, and the attempt count when ``max_retries`` is unset."""
        preset = PRESETS.get(node.get("retry_policy") or graph.get("retry_policy"))
        backoff = preset[1] if preset else Backoff()
        explicit = node.max_retries
        if explicit is None and preset is not None:
            return cls(preset[0], backoff)
        retries = graph.max_retries_for(node)
        return cls(max(1, retries + 1), backoff)


def retry_gate(node: Node, outcome: Outcome, retries_any_failure: bool) -> tuple[bool, str]:
    """May this outcome be retried at all (budget aside)? Returns (allowed, why).
    ``retries_any_failure`` is the node's handler's declaration of that name."""
    if outcome.status is StageStatus.RETRY:
        return True, "stage asked for a retry"
    if outcome.status is not StageStatus.FAIL:
        return False, "stage did not fail"
    cls = outcome.failure_class
    if retries_any_failure and node.get("retry_on") != "transient":
        if cls == FailureClass.CANCELED.value:
            return False, "canceled failures are never retried"
        return True, f"{node.handler_type} nodes retry any failure"
    if cls in RETRYABLE_CLASSES:
        return True, f"failure class {cls} is retryable"
    return False, f"failure class {cls or 'deterministic'} is not retryable"
