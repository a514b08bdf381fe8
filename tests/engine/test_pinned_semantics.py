"""The semantics pinned where the spec contradicts itself (docs/spec-deltas.md).

Each test runs a small simulated pipeline and checks the route it took
(``edge_selected`` events) and how it ended (``final.json``).
"""

from __future__ import annotations

from pathlib import Path

from .support import (
    attempts,
    attractor,
    edges_taken,
    events,
    final,
    pipeline,
    run,
    visited,
)

FAIL = 'shape=box, sim.outcome="fail", sim.failure_reason="tests broke"'


# -- routing after FAIL, in order ------------------------------------------------
async def test_fail_takes_a_matching_condition_edge_before_retry_target(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, f"""
  work [{FAIL}, retry_target=other]
  handler [shape=box]
  other [shape=box]
  start -> work
  work -> handler [condition="outcome=fail"]
  work -> exit
  handler -> exit
  other -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert ("work", "handler", "fail_edge", 1) in edges_taken(tmp_path / "logs")
    assert "other" not in visited(tmp_path / "logs")
    assert record.status == "success"


async def test_fail_without_matching_condition_jumps_to_retry_target(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, sim.outcome="fail,success", retry_target=fixer,
        fallback_retry_target=other]
  fixer [shape=box]
  other [shape=box]
  start -> work
  work -> exit [condition="outcome=success"]
  work -> other
  fixer -> work
  other -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    # The retry target wins over both the fallback and the unconditional edge.
    assert ("work", "fixer", "retry_target", 0) in edges_taken(root)
    assert visited(root) == ["start", "work", "fixer", "work", "exit"]
    assert record.status == "success"


async def test_fallback_retry_target_is_used_when_no_retry_target(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, sim.outcome="fail,success", fallback_retry_target=fixer]
  fixer [shape=box]
  other [shape=box]
  start -> work
  work -> exit [condition="outcome=success"]
  work -> other
  fixer -> work
  other -> exit""")
    await run(dot, tmp_path / "logs")
    assert ("work", "fixer", "retry_target", 0) in edges_taken(tmp_path / "logs")
    assert "other" not in visited(tmp_path / "logs")


async def test_fail_follows_unconditional_edge_into_diamond_then_fixer(tmp_path: Path) -> None:
    """The spec's own pattern: validate -> gate (diamond); gate -> fix on outcome!=success."""
    dot = pipeline(tmp_path, f"""
  validate [{FAIL}]
  gate [shape=diamond]
  fix [shape=box]
  start -> validate -> gate
  gate -> fix [condition="outcome!=success"]
  gate -> exit [condition="outcome=success"]
  fix -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert ("validate", "gate", "weight", 4) in edges_taken(root)
    assert ("gate", "fix", "fail_edge", 1) in edges_taken(root)
    # A handled failure (the fixer succeeded, then exit) ends in success.
    assert record.status == "success"
    assert final(root)["exit_path"] == "success"
    assert final(root)["completed_nodes"] == ["start", "validate", "gate", "fix", "exit"]


async def test_fail_with_no_route_fails_run_with_stage_reason(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, f"""
  work [{FAIL}]
  start -> work
  work -> exit [condition="outcome=success"]""")
    record = await run(dot, tmp_path / "logs")
    data = final(tmp_path / "logs")
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert data["failure_reason"] == "tests broke"
    assert data["failed_node_id"] == "work"
    assert record.exit_code == 1
    assert "exit" not in visited(tmp_path / "logs")


# -- the exit never turns a failure into success ---------------------------------
async def test_fail_walking_straight_into_exit_ends_fail(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, f"""
  work [{FAIL}, sim.failure_class=deterministic]
  start -> work -> exit""")
    await run(dot, tmp_path / "logs")
    data = final(tmp_path / "logs")
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert (data["failure_reason"], data["failed_node_id"]) == ("tests broke", "work")
    assert data["failure_class"] == "deterministic"
    assert data["failure_signature"].startswith("work|deterministic|")


async def test_fail_through_a_diamond_into_exit_blames_the_stage_not_the_diamond(
        tmp_path: Path) -> None:
    dot = pipeline(tmp_path, f"""
  work [{FAIL}]
  check [shape=diamond]
  start -> work -> check -> exit""")
    await run(dot, tmp_path / "logs")
    data = final(tmp_path / "logs")
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert data["failed_node_id"] == "work"
    assert data["failure_reason"] == "tests broke"
    run_failed = events(tmp_path / "logs", "run_failed")[-1]
    assert run_failed["failed_node_id"] == "work"


async def test_goal_gates_are_checked_before_the_failed_exit_rule(tmp_path: Path) -> None:
    """A failed goal gate whose fail edge leads into the exit goes back to the
    graph's retry target instead of ending the run."""
    dot = pipeline(tmp_path, """
  graph [retry_target=implement]
  implement [shape=box, goal_gate=true, sim.outcome="fail,success"]
  start -> implement
  implement -> exit [condition="outcome=fail"]
  implement -> exit [condition="outcome=success"]""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    gate = events(root, "goal_gate_unsatisfied")
    assert [(g["node_ids"], g["retry_target"]) for g in gate] == [(["implement"], "implement")]
    assert visited(root) == ["start", "implement", "implement", "exit"]
    assert record.status == "success"


async def test_failed_goal_gate_jumps_to_the_graph_retry_target(tmp_path: Path) -> None:
    """A goal gate's failure with only an unconditional edge out goes where the
    exit would send it: its targets, then the graph's (§3.4)."""
    dot = pipeline(tmp_path, """
  graph [retry_target=implement]
  implement [shape=box, goal_gate=true, sim.outcome="fail,success"]
  start -> implement -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert ("implement", "implement", "retry_target", 0) in edges_taken(root)
    assert visited(root) == ["start", "implement", "implement", "exit"]
    assert record.status == "success"


# -- validation and human gates ---------------------------------------------------
def test_unreachable_node_is_an_error_that_stops_the_run(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  orphan [shape=box]
  start -> exit""")
    result = attractor("run", dot, "--logs-root", tmp_path / "logs", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "orphan" in result.stderr and "reachab" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "logs" / "final.json").exists()
    checked = attractor("validate", dot, cwd=tmp_path)
    assert checked.returncode == 1


async def test_auto_approve_picks_first_declared_edge_not_lexical(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  review [shape=hexagon, label="Ship it?"]
  zeta [shape=box]
  alpha [shape=box]
  start -> review
  review -> zeta [label="[Z] Zeta"]
  review -> alpha [label="[A] Alpha"]
  zeta -> exit
  alpha -> exit""")
    await run(dot, tmp_path / "logs", options={"interviewer": "auto"})
    root = tmp_path / "logs"
    assert visited(root) == ["start", "review", "zeta", "exit"]
    chosen = [e for e in edges_taken(root) if e[0] == "review"]
    assert chosen == [("review", "zeta", "preferred_label", 2)]


# -- sim.outcome lists -------------------------------------------------------------
async def test_sim_outcome_list_is_consumed_across_attempts_and_visits(tmp_path: Path) -> None:
    """``a`` asks for a retry once, then succeeds; on its second visit the
    list is already at its last entry, which repeats."""
    dot = pipeline(tmp_path, """
  a [shape=box, sim.outcome="retry,success", max_retries=2]
  b [shape=box, sim.outcome="fail,success"]
  start -> a -> b
  b -> a [condition="outcome=fail"]
  b -> exit [condition="outcome=success"]""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert attempts(root, "a") == [1, 2, 1]
    assert attempts(root, "b") == [1, 1]
    assert record.status == "success"


async def test_several_unsatisfied_gates_are_reported_in_declaration_order(
        tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  zeta [shape=box, goal_gate=true, sim.outcome=fail]
  alpha [shape=box, goal_gate=true, sim.outcome=fail]
  start -> alpha
  alpha -> zeta [condition="outcome=fail"]
  zeta -> exit [condition="outcome=fail"]""")
    await run(dot, tmp_path / "logs")
    data = final(tmp_path / "logs")
    assert data["exit_path"] == "goal_gate_unsatisfied"
    assert data["failed_node_id"] == "zeta"  # declared first, though it ran second
    assert data["failure_reason"] == "goal gate unsatisfied (zeta, alpha) and no retry target"
