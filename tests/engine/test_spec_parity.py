"""Spec §11.12 (cross-feature parity matrix): one test per row; and §11.13
(the integration smoke test) with the simulate backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from attractor_core.dot import parse_dot
from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.pipeline import prepare_pipeline, prepare_source
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.protocols import StageRun

from .support import (
    attempts,
    attractor,
    checkpoint,
    edges_taken,
    events,
    final,
    pipeline,
    resume,
    run,
    visited,
    write,
)


def _rules(dot: Path) -> dict[str, str]:
    """rule -> severity of every diagnostic ``attractor validate --json`` reports."""
    result = attractor("validate", "--json", dot)
    return {d["rule"]: d["severity"] for d in json.loads(result.stdout)}


# -- parsing -----------------------------------------------------------------------
def test_row_parse_simple_linear_pipeline() -> None:
    graph = parse_dot("digraph P { start [shape=Mdiamond] done [shape=Msquare]\n"
                      "A [shape=box] B [shape=box]\n start -> A -> B -> done }")
    assert list(graph.nodes) == ["start", "done", "A", "B"]
    assert [(e.source, e.target) for e in graph.edges] == [
        ("start", "A"), ("A", "B"), ("B", "done")]


def test_row_parse_graph_level_attributes() -> None:
    graph = parse_dot('digraph P { graph [goal="Ship it", label="Release"] start -> exit }')
    assert (graph.goal, graph.label) == ("Ship it", "Release")


def test_row_parse_multi_line_node_attributes() -> None:
    graph = parse_dot('digraph P {\n  work [\n    shape=box,\n    prompt="Do\n the thing",\n'
                      "    max_retries=2\n  ]\n}")
    node = graph.node("work")
    assert (node.shape, node.max_retries) == ("box", 2)
    assert node.prompt.startswith("Do")


# -- validation --------------------------------------------------------------------
def test_row_validate_missing_start_is_an_error(tmp_path: Path) -> None:
    dot = write(tmp_path, "digraph P { a [shape=box] exit [shape=Msquare] a -> exit }")
    assert "error" in _rules(dot).values()
    assert attractor("validate", dot).returncode == 1


def test_row_validate_missing_exit_is_an_error(tmp_path: Path) -> None:
    dot = write(tmp_path, "digraph P { start [shape=Mdiamond] a [shape=box] start -> a }")
    assert "error" in _rules(dot).values()
    assert attractor("validate", dot).returncode == 1


def test_row_validate_orphan_node_is_reported_as_error(tmp_path: Path) -> None:
    """Pinned: §7.2's table (reachability is an error) wins over this row's "warning"."""
    dot = pipeline(tmp_path, "  orphan [shape=box]\n  start -> exit")
    assert _rules(dot).get("reachability") == "error"


# -- execution -----------------------------------------------------------------------
async def test_row_execute_linear_three_node_pipeline(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, "  a [shape=box]\n  b [shape=box]\n  c [shape=box]\n"
                             "  start -> a -> b -> c -> exit")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert list(record.completed_nodes) == ["start", "a", "b", "c", "exit"]
    for node in "abc":
        assert json.loads((tmp_path / "logs" / node / "status.json").read_text())[
            "outcome"] == "success"


@pytest.mark.parametrize(("outcome", "expected"), [("success", "ship"), ("fail", "repair")])
async def test_row_conditional_branching(tmp_path: Path, outcome: str, expected: str) -> None:
    dot = pipeline(tmp_path, f"""
  check [shape=box, sim.outcome={outcome}]
  ship [shape=box]
  repair [shape=box]
  start -> check
  check -> ship [condition="outcome=success"]
  check -> repair [condition="outcome=fail"]
  ship -> exit
  repair -> exit""")
    await run(dot, tmp_path / "logs")
    assert visited(tmp_path / "logs") == ["start", "check", expected, "exit"]


async def test_row_retry_on_failure_max_retries_2(tmp_path: Path) -> None:
    # A tool that fails twice, then succeeds (its count survives in the workdir).
    command = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]'
    dot = pipeline(tmp_path, f"""
  flaky [shape=parallelogram, max_retries=2, tool_command="{command}"]
  start -> flaky -> exit""")
    record = await run(dot, tmp_path / "logs", workdir=tmp_path)
    assert attempts(tmp_path / "logs", "flaky") == [1, 2, 3]
    assert record.status == "success"


async def test_row_goal_gate_blocks_exit_when_unsatisfied(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  implement [shape=box, goal_gate=true, sim.outcome=fail]
  start -> implement
  implement -> exit [condition="outcome=fail"]
  implement -> exit [condition="outcome=success"]""")
    record = await run(dot, tmp_path / "logs")
    data = final(tmp_path / "logs")
    assert (record.status, data["exit_path"]) == ("fail", "goal_gate_unsatisfied")
    assert data["failed_node_id"] == "implement"
    assert "goal gate unsatisfied (implement)" in data["failure_reason"]
    assert "exit" not in visited(tmp_path / "logs")


async def test_row_goal_gate_allows_exit_when_all_satisfied(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  a [shape=box, goal_gate=true]
  b [shape=box, goal_gate=true, sim.outcome=partial_success]
  start -> a -> b -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert (record.status, record.exit_path) == ("success", "success")


async def test_row_wait_human_presents_choices_and_routes(tmp_path: Path) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("R\n")
    dot = pipeline(tmp_path, """
  review [shape=hexagon, label="Approve the plan?"]
  approve [shape=box]
  revise [shape=box]
  start -> review
  review -> approve [label="[A] Approve"]
  review -> revise [label="[R] Revise"]
  approve -> exit
  revise -> exit""")
    await run(dot, tmp_path / "logs", options={"interviewer": f"queue:{answers}"})
    assert visited(tmp_path / "logs") == ["start", "review", "revise", "exit"]


async def test_row_condition_match_wins_over_weight(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  a [shape=box]
  heavy [shape=box]
  matched [shape=box]
  start -> a
  a -> heavy [weight=100]
  a -> matched [condition="outcome=success"]
  heavy -> exit
  matched -> exit""")
    await run(dot, tmp_path / "logs")
    assert ("a", "matched", "condition", 1) in edges_taken(tmp_path / "logs")


async def test_row_weight_breaks_ties_between_unconditional_edges(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  a [shape=box]
  b_light [shape=box]
  z_heavy [shape=box]
  start -> a
  a -> b_light [weight=1]
  a -> z_heavy [weight=5]
  b_light -> exit
  z_heavy -> exit""")
    await run(dot, tmp_path / "logs")
    assert ("a", "z_heavy", "weight", 4) in edges_taken(tmp_path / "logs")


async def test_row_lexical_tiebreak_is_the_final_fallback(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  a [shape=box]
  zulu [shape=box]
  alpha [shape=box]
  start -> a
  a -> zulu
  a -> alpha
  zulu -> exit
  alpha -> exit""")
    await run(dot, tmp_path / "logs")
    assert ("a", "alpha", "lexical", 5) in edges_taken(tmp_path / "logs")


async def test_row_context_updates_are_visible_to_the_next_node(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  a [shape=box, sim.context_updates="{\\"context.flag\\": \\"on\\"}"]
  b [shape=diamond]
  yes [shape=box]
  no [shape=box]
  start -> a -> b
  b -> yes [condition="context.flag=on"]
  b -> no [condition="context.flag!=on"]
  yes -> exit
  no -> exit""")
    await run(dot, tmp_path / "logs")
    assert visited(tmp_path / "logs") == ["start", "a", "b", "yes", "exit"]
    assert checkpoint(tmp_path / "logs")["context"]["context.flag"] == "on"


async def test_row_checkpoint_save_and_resume_produces_same_result(tmp_path: Path) -> None:
    body = """
  a [shape=box, sim.context_updates="{\\"context.n\\": 1}"]
  b [shape=box, sim.outcome="fail,success", retry_target=a]
  c [shape=box, sim.delay=20ms]
  start -> a -> b
  b -> c [condition="outcome=success"]
  c -> exit"""
    whole = await run(pipeline(tmp_path, body, name="whole.dot"), tmp_path / "whole")

    def stop_at_c(event: Any) -> None:
        if event["event"] == "stage_attempt_start" and event["node_id"] == "c":
            scope.cancel()

    with trio.CancelScope() as scope:
        await run(pipeline(tmp_path, body, name="split.dot"), tmp_path / "split",
                  on_event=stop_at_c)
    assert final(tmp_path / "split")["status"] == "canceled"
    resumed = await resume(tmp_path / "split")
    assert (resumed.status, resumed.exit_path) == (whole.status, whole.exit_path)
    assert resumed.completed_nodes == whole.completed_nodes
    assert checkpoint(tmp_path / "split")["context"]["context.n"] == 1


# -- stylesheet, variables, handlers --------------------------------------------------
class _Recorder:
    """A third-party handler: reports the model the stylesheet gave its node."""

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        return Outcome.success(context_updates={f"seen.{node.id}": node.llm_model or "-"})


class _RecorderPlugin:
    @hookimpl
    def attractor_handler_types(self) -> dict[str, Any]:
        return {"recorder": _Recorder()}


async def test_row_stylesheet_applies_model_override_by_shape(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  graph [model_stylesheet="box { llm_model: big-model; } hexagon { llm_model: other; }"]
  a [shape=box, type=recorder]
  b [shape=box, type=recorder, llm_model=pinned]
  start -> a -> b -> exit""")
    pm = make_plugin_manager(extra_plugins=[_RecorderPlugin()])
    await run(dot, tmp_path / "logs", pm=pm)
    context = checkpoint(tmp_path / "logs")["context"]
    assert context["seen.a"] == "big-model"
    assert context["seen.b"] == "pinned"  # an explicit attribute beats the stylesheet


async def test_row_prompt_variable_expansion_of_goal(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  plan [shape=box, prompt="Plan for: $goal"]\n'
                             "  start -> plan -> exit", goal="a tiny CLI")
    await run(dot, tmp_path / "logs")
    assert (tmp_path / "logs" / "plan" / "prompt.md").read_text() == "Plan for: a tiny CLI"


async def test_row_parallel_fan_out_and_fan_in(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  fan [shape=component]
  left [shape=box]
  right [shape=box]
  join [shape=tripleoctagon]
  start -> fan
  fan -> left
  fan -> right
  left -> join
  right -> join
  join -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert {"left", "right"} <= set(visited(tmp_path / "logs"))  # both branches ran
    [started] = events(tmp_path / "logs", "parallel_started")
    assert (started["branch_count"], started["join_node"]) == (2, "join")
    assert {"fan", "join", "exit"} <= set(record.completed_nodes)


async def test_row_custom_handler_registration_and_execution(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, "  r [shape=box, type=recorder]\n  start -> r -> exit")
    pm = make_plugin_manager(extra_plugins=[_RecorderPlugin()])
    record = await run(dot, tmp_path / "logs", pm=pm)
    assert record.status == "success"
    assert checkpoint(tmp_path / "logs")["context"]["seen.r"] == "-"
    assert json.loads((tmp_path / "logs" / "r" / "status.json").read_text())[
        "outcome"] == "success"


async def test_row_pipeline_with_ten_plus_nodes(tmp_path: Path) -> None:
    names = [f"n{i:02d}" for i in range(12)]
    body = "\n".join(f"  {n} [shape=box]" for n in names)
    dot = pipeline(tmp_path, body + "\n  " + " -> ".join(["start", *names, "exit"]))
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert list(record.completed_nodes) == ["start", *names, "exit"]


# -- §11.13 ---------------------------------------------------------------------------
SMOKE = """
digraph test_pipeline {
    graph [goal="Create a hello world Python script"]

    start       [shape=Mdiamond]
    plan        [shape=box, prompt="Plan how to create a hello world script for: $goal"]
    implement   [shape=box, prompt="Write the code based on the plan", goal_gate=true]
    review      [shape=box, prompt="Review the code for correctness"]
    done        [shape=Msquare]

    start -> plan
    plan -> implement
    implement -> review [condition="outcome=success"]
    implement -> plan   [condition="outcome=fail", label="Retry"]
    review -> done      [condition="outcome=success"]
    review -> implement [condition="outcome=fail", label="Fix"]
}
"""


async def test_integration_smoke_test_with_simulate_backend(tmp_path: Path) -> None:
    pm = make_plugin_manager()
    prepared = prepare_source(SMOKE, "smoke.dot", pm)
    assert prepared.graph.goal == "Create a hello world Python script"
    assert len(prepared.graph.nodes) == 5
    assert len(prepared.graph.edges) == 6
    assert prepared.ok, prepared.errors

    dot = write(tmp_path, SMOKE)
    assert prepare_pipeline(dot, pm).ok
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert record.status == "success"
    assert "implement" in record.completed_nodes
    for node in ("plan", "implement", "review"):
        for name in ("prompt.md", "response.md", "status.json"):
            assert (root / node / name).is_file(), f"{node}/{name}"
    implement = json.loads((root / "implement" / "status.json").read_text())
    assert implement["outcome"] == "success"  # the goal gate is satisfied
    cp = checkpoint(root)
    assert cp["current_node"] == "done"
    assert {"plan", "implement", "review"} <= set(cp["completed_nodes"])
    assert "hello world script for: Create a hello world Python script" in (
        root / "plan" / "prompt.md").read_text()
