"""How a parallel node's branch results become its outcome (spec §4.8).

Pure functions over :class:`~attractor_core.sdk.BranchResult`s,
so every rule here can be read, and tested, without running a branch.

Vocabulary. A branch *succeeded* when it ended ``success`` or
``partial_success``; it was *canceled* when its status is ``canceled``
(early termination, or never started); every other status *failed*.
A canceled branch never counts as a success and never as a failure.

Outcomes (``n`` = branches, ``s`` = succeeded, ``f`` = failed):

* ``wait_all``: ``s == n`` -> success; ``s == 0`` -> fail (aggregated);
  otherwise partial_success "<f> of <n> branches failed".
* ``first_success``: ``s >= 1`` -> success, else fail.
* ``k_of_n``: ``s >= k`` -> success, else fail "only s of n succeeded (need k)".
* ``quorum``: ``s >= max(1, ceil(n * quorum_fraction))`` -> success, else fail.
* ``error_policy=fail_fast``: the first failure cancels the others and the
  node fails with that branch's reason and class.
* ``error_policy=ignore``: failed branches leave the evaluation (``n`` is
  the number of branches that did not fail); if none succeeded the node
  fails all the same: it never reports success over nothing.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from typing import TypeVar

from attrs import frozen

from attractor_core.sdk import (
    BranchFailure,
    BranchResult,
    FailureClass,
    FanOutReport,
    Node,
    StageStatus,
    ValueFormatError,
)
from attractor_handlers.attribute_schema import DEFAULT_MAX_PARALLEL, DEFAULT_QUORUM_FRACTION

SIGNATURE_LIMIT = 512


_E = TypeVar("_E", bound=enum.Enum)


class JoinPolicy(enum.Enum):
    WAIT_ALL = "wait_all"
    FIRST_SUCCESS = "first_success"
    K_OF_N = "k_of_n"
    QUORUM = "quorum"


class ErrorPolicy(enum.Enum):
    CONTINUE = "continue"
    FAIL_FAST = "fail_fast"
    IGNORE = "ignore"


class PolicyError(ValueError):
    """A parallel node's policy attributes cannot be understood; the message says the fix."""


@frozen
class ParallelSettings:
    join_policy: JoinPolicy = JoinPolicy.WAIT_ALL
    error_policy: ErrorPolicy = ErrorPolicy.CONTINUE
    max_parallel: int = DEFAULT_MAX_PARALLEL  # 0 means every branch at once
    k: int = 1
    quorum_fraction: float = DEFAULT_QUORUM_FRACTION

    @classmethod
    def from_node(cls, node: Node) -> ParallelSettings:
        """Read the node's attributes; raises :class:`PolicyError` naming the node."""
        try:
            return cls(
                join_policy=_choice(node, "join_policy", JoinPolicy, JoinPolicy.WAIT_ALL),
                error_policy=_choice(node, "error_policy", ErrorPolicy, ErrorPolicy.CONTINUE),
                max_parallel=_count(node, "max_parallel", DEFAULT_MAX_PARALLEL, minimum=0),
                k=_count(node, "k", 1, minimum=1),
                quorum_fraction=_fraction(node),
            )
        except ValueFormatError as exc:
            raise PolicyError(str(exc)) from None

    def limit(self, branch_count: int) -> int:
        """How many branches may run at once (at least one)."""
        cap = self.max_parallel or branch_count
        return max(1, min(cap, branch_count))


def _choice(node: Node, key: str, kind: type[_E], default: _E) -> _E:
    raw = node.get(key).strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        names = ", ".join(str(m.value) for m in kind)
        raise PolicyError(f"node {node.id}: unknown {key} {raw!r}; use one of {names}") from None


def _count(node: Node, key: str, default: int, *, minimum: int) -> int:
    value = node.get_int(key)
    if value is None:
        return default
    if value < minimum:
        raise PolicyError(f"node {node.id}: {key}={value} must be at least {minimum}")
    return value


def _fraction(node: Node) -> float:
    value = node.get_float("quorum_fraction")
    if value is None:
        return DEFAULT_QUORUM_FRACTION
    if not 0 < value <= 1:
        raise PolicyError(f"node {node.id}: quorum_fraction={value:g} must be in (0, 1]")
    return value


# -- counting ----------------------------------------------------------------


def succeeded(result: BranchResult) -> bool:
    return result.succeeded


def canceled(result: BranchResult) -> bool:
    return result.status == "canceled"


def failed(result: BranchResult) -> bool:
    return not succeeded(result) and not canceled(result)


def needed_successes(settings: ParallelSettings, population: int) -> int:
    """How many successes satisfy the join, among ``population`` evaluated branches."""
    policy = settings.join_policy
    if policy is JoinPolicy.FIRST_SUCCESS:
        return 1
    if policy is JoinPolicy.K_OF_N:
        return settings.k
    if policy is JoinPolicy.QUORUM:
        return max(1, math.ceil(population * settings.quorum_fraction - 1e-9))
    return population


# -- early termination ---------------------------------------------------------


def early_stop_reason(settings: ParallelSettings, finished: Sequence[BranchResult]) -> str:
    """Why the branches still running should be cancelled now ("" to go on).

    ``finished`` is in completion order; its last entry just finished.
    """
    if not finished:
        return ""
    last = finished[-1]
    if settings.error_policy is ErrorPolicy.FAIL_FAST and failed(last):
        return f"fail_fast: branch {last.branch_key} failed"
    if not succeeded(last):
        return ""
    if settings.join_policy is JoinPolicy.FIRST_SUCCESS:
        return f"first_success: branch {last.branch_key} succeeded"
    if settings.join_policy is JoinPolicy.K_OF_N:
        successes = sum(1 for r in finished if succeeded(r))
        if successes >= settings.k:
            return f"k_of_n: {successes} branches succeeded (k={settings.k})"
    return ""


# -- the verdict -----------------------------------------------------------------


@frozen
class JoinVerdict:
    """The parallel node's status and, when it did not fully succeed, why."""

    status: StageStatus
    reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    notes: str = ""


def evaluate_join(settings: ParallelSettings, results: Sequence[BranchResult]) -> JoinVerdict:
    """Apply the error policy, then the join policy, to every branch's result.

    ``results`` are in completion order (canceled branches last), so that
    under ``fail_fast`` the failure named is the one that stopped the others.
    """
    total = len(results)
    fast = _fail_fast_failure(settings, results)
    if fast is not None:
        return JoinVerdict(StageStatus.FAIL, f"fail_fast: branch {fast.branch_key} failed: "
                           f"{fast.failure_reason or fast.status}",
                           fast.failure_class or FailureClass.DETERMINISTIC.value)
    evaluated = [r for r in results if not (settings.error_policy is ErrorPolicy.IGNORE
                                            and failed(r))]
    successes = sum(1 for r in evaluated if succeeded(r))
    if successes == 0:
        return all_failed(results, _policy_note(settings))
    if settings.join_policy is JoinPolicy.WAIT_ALL:
        return _wait_all(evaluated, successes, total)
    needed = needed_successes(settings, len(evaluated))
    if successes >= needed:
        return JoinVerdict(StageStatus.SUCCESS, notes=f"{settings.join_policy.value}: "
                           f"{successes} of {total} branches succeeded (needed {needed})")
    return _not_enough(settings, results, successes, needed)


def _fail_fast_failure(settings: ParallelSettings,
                       results: Sequence[BranchResult]) -> BranchResult | None:
    if settings.error_policy is not ErrorPolicy.FAIL_FAST:
        return None
    return next((r for r in results if failed(r)), None)


def _wait_all(evaluated: Sequence[BranchResult], successes: int, total: int) -> JoinVerdict:
    population = len(evaluated)
    ignored = total - population
    note = f"; {ignored} failed branch{'es' if ignored != 1 else ''} ignored" if ignored else ""
    if successes == population:
        return JoinVerdict(StageStatus.SUCCESS,
                           notes=f"wait_all: all {population} branches succeeded{note}")
    missing = population - successes
    return JoinVerdict(StageStatus.PARTIAL_SUCCESS, f"{missing} of {population} branches failed",
                       notes=f"wait_all: {successes} of {population} branches succeeded{note}")


def _not_enough(settings: ParallelSettings, results: Sequence[BranchResult], successes: int,
                needed: int) -> JoinVerdict:
    policy = settings.join_policy.value
    extra = f", quorum_fraction={settings.quorum_fraction:g}" if policy == "quorum" else ""
    reason = (f"{policy}: only {successes} of {len(results)} branches succeeded "
              f"(need {needed}{extra})")
    return JoinVerdict(StageStatus.FAIL, reason, aggregate_class(results))


def _policy_note(settings: ParallelSettings) -> str:
    if settings.error_policy is ErrorPolicy.IGNORE:
        return " (error_policy=ignore)"
    return ""


# -- reporting -------------------------------------------------------------------


def fan_out_report(settings: ParallelSettings, results: Sequence[BranchResult]) -> FanOutReport:
    """The verdict in one line (``wait_all: 3 of 4 branches succeeded; b2 failed: ...``)
    and the failed branches in branch order, for final.json and ``attractor status``."""
    ordered = sorted(results, key=lambda r: r.index)
    bad = [r for r in ordered if failed(r)]
    successes = sum(1 for r in results if succeeded(r))
    policy = settings.join_policy.value
    if settings.error_policy is not ErrorPolicy.CONTINUE:
        policy += f", error_policy={settings.error_policy.value}"
    parts = [f"{policy}: {successes} of {len(results)} branches succeeded"]
    parts += [f"{r.branch_key} {_failed_word(r)}: {r.failure_reason or r.status}" for r in bad]
    dropped = sum(1 for r in results if canceled(r))
    if dropped:
        parts.append(f"{dropped} canceled")
    failures = tuple(BranchFailure(r.branch_key, r.status, r.failure_reason, r.failure_class,
                                   r.failed_node_id) for r in bad)
    return FanOutReport("; ".join(parts), failures)


def _failed_word(result: BranchResult) -> str:
    return "failed" if result.status == StageStatus.FAIL.value else f"ended {result.status}"


# -- aggregating failures ------------------------------------------------------------


def aggregate_class(results: Sequence[BranchResult]) -> str:
    """``canceled`` if every branch was canceled; ``transient_infra`` if every
    failed branch failed with that class; otherwise ``deterministic``."""
    if results and all(canceled(r) for r in results):
        return FailureClass.CANCELED.value
    failures = [r for r in results if failed(r)]
    if failures and all(r.failure_class == FailureClass.TRANSIENT_INFRA.value for r in failures):
        return FailureClass.TRANSIENT_INFRA.value
    return FailureClass.DETERMINISTIC.value


def all_failed(results: Sequence[BranchResult], note: str = "") -> JoinVerdict:
    """No branch succeeded: one reason listing every branch, one class, one signature."""
    klass = aggregate_class(results)
    parts = [f"{r.branch_key}: {r.failure_reason or r.status}" for r in results]
    reason = f"all {len(results)} parallel branches failed{note}: " + "; ".join(parts)
    keyed = sorted(f"{r.branch_key}:{_normalise(r.failure_reason or r.status)}" for r in results)
    signature = f"parallel_all_failed|{klass}|branches={len(results)}|" + ";".join(keyed)
    return JoinVerdict(StageStatus.FAIL, reason, klass, signature[:SIGNATURE_LIMIT])


def _normalise(reason: str) -> str:
    """Lowercase, digits folded, whitespace collapsed: two runs of the same failure match."""
    folded = "".join("#" if ch.isdigit() else ch for ch in reason.lower())
    return " ".join(folded.split())[:120]
