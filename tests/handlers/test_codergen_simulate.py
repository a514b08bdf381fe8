"""Spec §4.5: the codergen handler and the scripted ``simulate`` backend."""

from __future__ import annotations

import json

import pytest
import trio

from attractor_core.model import StageStatus

from .helpers import run_node


def one_node(attrs: str, goal: str = "ship it") -> str:
    return f'digraph g {{ graph [goal="{goal}"]; work [shape=box {attrs}] }}'


async def test_prompt_expands_goal_and_is_written_with_the_response(make_run):
    run = make_run("work")
    outcome = await run_node(one_node(', prompt="Plan how to $goal today"'), "work", run)
    assert outcome.status is StageStatus.SUCCESS
    assert (run.stage_dir / "prompt.md").read_text() == "Plan how to ship it today"
    response = (run.stage_dir / "response.md").read_text()
    assert "work" in response
    assert outcome.context_updates["last_stage"] == "work"
    assert outcome.context_updates["last_response"] == response[:200]


async def test_label_is_the_prompt_when_there_is_no_prompt(make_run):
    run = make_run("work")
    await run_node(one_node(', label="Write the $goal notes"'), "work", run)
    assert (run.stage_dir / "prompt.md").read_text() == "Write the ship it notes"


async def test_simulate_writes_an_owned_status_file_matching_its_outcome(make_run):
    run = make_run("work", attempt=2)
    attrs = (', sim.outcome="fail", sim.failure_reason="lint errors", '
             'sim.failure_class="deterministic", sim.preferred_label="Fix"')
    outcome = await run_node(one_node(attrs), "work", run)
    assert outcome.status is StageStatus.FAIL
    status = json.loads((run.stage_dir / "status.json").read_text())
    assert status["outcome"] == "fail"
    assert status["failure_reason"] == outcome.failure_reason == "lint errors"
    assert status["failure_class"] == "deterministic"
    assert status["preferred_label"] == "Fix"
    assert (status["run_id"], status["node_id"], status["attempt"]) == ("test-run", "work", 2)
    assert status["context_updates"]["last_stage"] == "work"


@pytest.mark.parametrize(
    ("execution", "expected"),
    [
        (1, StageStatus.FAIL), (2, StageStatus.RETRY), (3, StageStatus.SUCCESS),
        (9, StageStatus.SUCCESS),
    ],
)
async def test_sim_outcome_list_is_consumed_per_execution_and_the_last_repeats(
    make_run, execution, expected
):
    graph = one_node(', sim.outcome="FAIL, Retry,success"')
    outcome = await run_node(graph, "work", make_run("work", execution=execution))
    assert outcome.status is expected
    if expected is not StageStatus.SUCCESS:
        assert outcome.failure_reason == "simulated failure"


async def test_sim_context_updates_are_merged_into_the_outcome(make_run):
    updates = r'{\"review.score\": 7, \"last_stage\": \"x\"}'
    graph = one_node(f', sim.context_updates="{updates}"')
    outcome = await run_node(graph, "work", make_run("work"))
    assert outcome.context_updates["review.score"] == 7
    assert outcome.context_updates["last_stage"] == "x"  # the script wins over the defaults


@pytest.mark.parametrize(
    ("attrs", "words"),
    [
        (', sim.context_updates="{not json"', ("sim.context_updates", "JSON")),
        (', sim.context_updates="[1, 2]"', ("sim.context_updates", "object")),
        (', sim.outcome="success,may-be"', ("sim.outcome", "may-be")),
        (', sim.delay="soon"', ("sim.delay", "soon")),
    ],
)
async def test_bad_sim_attributes_fail_deterministically_naming_the_node(make_run, attrs, words):
    run = make_run("work")
    outcome = await run_node(one_node(attrs), "work", run)
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_class == "deterministic"
    assert "node work" in outcome.failure_reason
    for word in words:
        assert word in outcome.failure_reason
    assert not (run.stage_dir / "status.json").exists()


async def test_sim_delay_is_cancellable(make_run):
    run = make_run("work")
    with trio.move_on_after(0.05) as scope:
        await run_node(one_node(', sim.delay="1h"'), "work", run)
    assert scope.cancelled_caught
    assert not (run.stage_dir / "response.md").exists()


async def test_unknown_backend_fails_and_lists_the_available_ones(make_run):
    run = make_run("work", options={"backend": "gpt-9"})
    outcome = await run_node(one_node(""), "work", run)
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_class == "deterministic"
    assert "'gpt-9'" in outcome.failure_reason and "simulate" in outcome.failure_reason


async def test_node_without_shape_or_type_runs_as_codergen(make_run):
    run = make_run("plain")
    outcome = await run_node("digraph g { plain }", "plain", run)
    assert outcome.status is StageStatus.SUCCESS
    assert (run.stage_dir / "prompt.md").read_text() == "plain"
