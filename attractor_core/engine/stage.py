"""Running a node to a final outcome: attempts, the retry gate, backoff (spec §3.5)."""

from __future__ import annotations

import json

import trio

from attractor_core.model import Node, Outcome, StageStatus
from attractor_core.records import evolve
from attractor_core.runtime.checkpoint import InFlight
from attractor_core.runtime.events import RetryDecision, StageRetrySleep
from attractor_core.runtime.status_files import write_status_file

from .attempt import run_attempt
from .retry import RetryPolicy, retry_gate
from .routing import UNMATCHED_OUTCOME
from .services import Lane, RunServices

CRASH_RERUN_LIMIT = 3


async def run_node(services: RunServices, lane: Lane, node: Node) -> Outcome:
    """Attempts already used in this visit (``node_retries``, restored on
    resume) count against ``max_retries``, so crash-resume cycles cannot
    retry a node forever."""
    policy: RetryPolicy | None = None  # read at the first failure: most nodes never fail
    retries = lane.state.node_retries
    attempt = retries.get(node.id, 0) + 1
    while True:
        # Counted before the checkpoint: the checkpoint names the execution in flight,
        # which an attempt re-run after an interruption continues.
        execution, continued = lane.state.next_execution(node.id)
        lane.checkpoint(node.id, node.id, InFlight(node.id, attempt))
        outcome = await run_attempt(services, lane, node, attempt, execution,
                                    continued=continued)
        if outcome.status not in (StageStatus.FAIL, StageStatus.RETRY):
            retries.pop(node.id, None)
            return outcome
        if policy is None:
            policy = RetryPolicy.for_node(node, services.config.graph)
        will_retry, why = _decide(node, outcome, attempt, policy.max_attempts,
                                  services.config.registry.retries_any_failure(node))
        services.emit(RetryDecision(node.id, attempt, will_retry, outcome.failure_class, why,
                                    policy.max_attempts - 1))
        if not will_retry:
            retries.pop(node.id, None)
            ended = _exhausted(node, outcome, attempt)
            if ended is not outcome:
                _restate_status(lane, node, ended)
            return ended
        retries[node.id] = attempt
        lane.state.context.set(f"internal.retry_count.{node.id}", attempt)
        delay_ms = policy.backoff.delay_ms(attempt, services.rng)
        services.emit(StageRetrySleep(node.id, attempt, delay_ms))
        lane.phase = "retry_sleep"
        await trio.sleep(delay_ms / 1000)
        lane.phase = "traversal"
        attempt += 1


def _decide(node: Node, outcome: Outcome, attempt: int, max_attempts: int,
            retries_any_failure: bool) -> tuple[bool, str]:
    if outcome.failed_node_id and outcome.failed_node_id != node.id:
        return False, f"failure passed through from {outcome.failed_node_id}; not retried here"
    unmatched = outcome.details.get(UNMATCHED_OUTCOME)
    if unmatched:
        return False, f"outcome '{unmatched}' matched no edge; another attempt cannot add one"
    allowed, why = retry_gate(node, outcome, retries_any_failure)
    if not allowed:
        return False, why
    if attempt >= max_attempts:
        return False, f"retry budget exhausted ({attempt} of {max_attempts} attempts used)"
    return True, why


def _exhausted(node: Node, outcome: Outcome, attempts: int) -> Outcome:
    if outcome.status is not StageStatus.RETRY:
        return outcome
    if node.allow_partial:
        return evolve(outcome, status=StageStatus.PARTIAL_SUCCESS,
                      notes="retries exhausted, partial success accepted (allow_partial)")
    reason = f"retries exhausted after {attempts} attempt(s): {outcome.failure_reason}"
    return evolve(outcome, status=StageStatus.FAIL, failure_reason=reason)


_ATTEMPT_META = ("run_id", "node_id", "attempt", "started_at", "finished_at", "duration_ms")


def _restate_status(lane: Lane, node: Node, outcome: Outcome) -> None:
    """status.json must say how the stage ended (e.g. ``partial_success`` after
    exhausted retries), not what its last attempt asked for."""
    path = lane.stage_root() / node.id / "status.json"
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {}
    meta = {k: written[k] for k in _ATTEMPT_META if isinstance(written, dict) and k in written}
    write_status_file(path, outcome, meta)


def crash_rerun_outcome(node: Node, reruns: int) -> Outcome | None:
    """A node in flight at too many crashes is failed instead of re-run."""
    if reruns <= CRASH_RERUN_LIMIT:
        return None
    return Outcome.fail(
        f"node {node.id} was in flight at {reruns} interrupted runs; not re-running it "
        f"again (limit {CRASH_RERUN_LIMIT}). Inspect its stage dir, then fix and re-run",
        "deterministic", failed_node_id=node.id)
