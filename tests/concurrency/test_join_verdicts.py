"""The join-policy table of docs/concurrency.md, pinned on branch results directly
(``attractor_handlers.join_policies`` is the handler's public policy module)."""

from __future__ import annotations

import pytest

from attractor_core.model import Node
from attractor_core.model.branch import BranchResult
from attractor_handlers.join_policies import (
    ParallelSettings,
    early_stop_reason,
    evaluate_join,
)


def _results(spec: str) -> list[BranchResult]:
    """``"s f c t"``: success, fail (deterministic), canceled, fail (transient_infra)."""
    kinds = {"s": ("success", ""), "p": ("partial_success", ""), "f": ("fail", "deterministic"),
             "t": ("fail", "transient_infra"), "c": ("canceled", "canceled")}
    return [BranchResult(f"b{i}", i, f"b{i}", kinds[k][0], "" if k in "sp" else f"why {i}",
                         kinds[k][1]) for i, k in enumerate(spec.split(), 1)]


def _settings(**attrs: str) -> ParallelSettings:
    return ParallelSettings.from_node(Node("par", {"shape": "component", **attrs}))


@pytest.mark.parametrize(("attrs", "spec", "status", "reason"), [
    ({}, "s s s", "success", ""),
    ({}, "s p", "success", ""),
    ({}, "s f f", "partial_success", "2 of 3 branches failed"),
    ({}, "f f", "fail", "all 2 parallel branches failed: b1: why 1; b2: why 2"),
    ({"join_policy": "first_success"}, "f s c", "success", ""),
    ({"join_policy": "first_success"}, "f f", "fail", "all 2 parallel branches failed"),
    ({"join_policy": "k_of_n", "k": "2"}, "s f f", "fail",
     "k_of_n: only 1 of 3 branches succeeded (need 2)"),
    ({"join_policy": "quorum", "quorum_fraction": "0.34"}, "s s f", "success", ""),
    ({"join_policy": "quorum", "quorum_fraction": "0.34"}, "s f f", "fail",
     "quorum: only 1 of 3 branches succeeded (need 2, quorum_fraction=0.34)"),
    ({"error_policy": "ignore"}, "s f", "success", ""),
    ({"error_policy": "ignore", "join_policy": "quorum", "quorum_fraction": "1"}, "s f",
     "success", ""),
    ({"error_policy": "ignore"}, "f f", "fail",
     "all 2 parallel branches failed (error_policy=ignore)"),
    ({"error_policy": "fail_fast"}, "f s c", "fail", "fail_fast: branch b1 failed: why 1"),
])
def test_verdict_table(attrs: dict[str, str], spec: str, status: str, reason: str) -> None:
    verdict = evaluate_join(_settings(**attrs), _results(spec))
    assert verdict.status.value == status
    assert verdict.reason.startswith(reason) if reason else verdict.reason == ""


@pytest.mark.parametrize(("spec", "klass"), [
    ("t t", "transient_infra"), ("t f", "deterministic"), ("c c", "canceled"),
    ("t c", "transient_infra"),
])
def test_all_failed_class(spec: str, klass: str) -> None:
    verdict = evaluate_join(_settings(), _results(spec))
    assert verdict.failure_class == klass
    assert verdict.failure_signature.startswith(f"parallel_all_failed|{klass}|branches=2|")


def test_signature_folds_digits_and_is_bounded() -> None:
    results = [BranchResult(f"branch{i}", i, "x", "fail", f"error {i} at line {i * 7}",
                            "deterministic") for i in range(200)]
    signature = evaluate_join(_settings(), results).failure_signature
    assert len(signature) == 512
    assert "branch#:" not in signature and "error # at line #" in signature


@pytest.mark.parametrize(("attrs", "spec", "stops"), [
    ({}, "f", False),
    ({"error_policy": "fail_fast"}, "f", True),
    ({"error_policy": "fail_fast"}, "s", False),
    ({"join_policy": "first_success"}, "f p", True),
    ({"join_policy": "k_of_n", "k": "2"}, "s", False),
    ({"join_policy": "k_of_n", "k": "2"}, "s f s", True),
    ({"join_policy": "quorum"}, "s s s", False),
])
def test_early_termination_triggers(attrs: dict[str, str], spec: str, stops: bool) -> None:
    assert bool(early_stop_reason(_settings(**attrs), _results(spec))) is stops
