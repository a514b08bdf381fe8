"""Spec §4.3, §4.4, §4.7: start and exit are no-ops; a diamond passes the previous outcome on."""

from __future__ import annotations

from attractor_core.model import Context, StageStatus

from .helpers import run_node

GRAPH = """digraph g {
  start [shape=Mdiamond]; done [shape=Msquare]; check [shape=diamond]
  start -> check -> done
}"""


async def test_start_and_exit_succeed_without_side_effects(make_run):
    for node_id in ("start", "done"):
        run = make_run(node_id)
        outcome = await run_node(GRAPH, node_id, run)
        assert outcome.status is StageStatus.SUCCESS
        assert outcome.context_updates == {}
        assert list(run.stage_dir.iterdir()) == []


async def test_conditional_with_no_previous_outcome_is_success(make_run):
    outcome = await run_node(GRAPH, "check", make_run("check"))
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.failure_reason == "" and outcome.failed_node_id == ""


async def test_conditional_passes_a_failure_through_with_its_cause(make_run):
    context = Context({
        "outcome": "fail", "preferred_label": "Fix", "failure_reason": "tests red",
        "failure_class": "deterministic", "failure_signature": "verify|deterministic|tests red",
        "failed_node_id": "verify",
    })
    outcome = await run_node(GRAPH, "check", make_run("check"), context)
    assert outcome.status is StageStatus.FAIL
    assert outcome.preferred_label == "Fix"
    assert outcome.failure_reason == "tests red"
    assert outcome.failure_class == "deterministic"
    assert outcome.failure_signature == "verify|deterministic|tests red"
    assert outcome.failed_node_id == "verify"  # never the diamond itself


async def test_conditional_passes_success_and_its_label_without_stale_failure_fields(make_run):
    context = Context({
        "outcome": "SUCCESS", "preferred_label": "B", "failure_reason": "old reason",
        "failure_class": "transient_infra", "failed_node_id": "earlier",
    })
    outcome = await run_node(GRAPH, "check", make_run("check"), context)
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.preferred_label == "B"
    assert (outcome.failure_reason, outcome.failure_class, outcome.failed_node_id) == ("", "", "")


async def test_conditional_passes_retry_and_partial_success_statuses(make_run):
    cases = (("retry", StageStatus.RETRY), ("partial_success", StageStatus.PARTIAL_SUCCESS))
    for raw, expected in cases:
        context = Context({"outcome": raw, "failure_reason": "flaky"})
        outcome = await run_node(GRAPH, "check", make_run("check"), context)
        assert outcome.status is expected


async def test_conditional_accepts_the_status_enum_in_context(make_run):
    context = Context({"outcome": StageStatus.FAIL, "failure_reason": "boom"})
    outcome = await run_node(GRAPH, "check", make_run("check"), context)
    assert outcome.status is StageStatus.FAIL and outcome.failure_reason == "boom"
