"""Custom outcomes (docs/spec-deltas.md): any outcome token an agent writes is a
routing decision when some outgoing condition matches it, and a deterministic
failure naming the outcome and the node when none does.

Each test runs a small pipeline (simulate backend, or a tool writing its status
file) and reads the run's artifacts.
"""

from __future__ import annotations

import json
from pathlib import Path

from .support import (
    attempts,
    attractor,
    checkpoint,
    edges_taken,
    events,
    final,
    pipeline,
    run,
    visited,
)

ROUTER = """
  plan [shape=box]
  define [shape=box]
  start -> check
  check -> define [condition="outcome=needs_dod"]
  check -> plan [condition="outcome=has_dod"]
  define -> plan -> exit"""


def _status(root: Path, node: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / node / "status.json").read_text())
    return data


async def test_custom_outcome_routes_on_its_condition_without_a_retry(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  check [shape=box, sim.outcome="needs_dod"]' + ROUTER,
                   graph_attrs=", default_max_retry=3")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert record.status == "success"
    assert ("check", "define", "condition", 1) in edges_taken(root)
    assert visited(root) == ["start", "check", "define", "plan", "exit"]
    assert attempts(root, "check") == [1]
    assert _status(root, "check")["outcome"] == "needs_dod"
    assert checkpoint(root)["node_outcomes"]["check"]["status"] == "needs_dod"
    ends = [e for e in events(root, "stage_attempt_end") if e["node_id"] == "check"]
    assert [e["status"] for e in ends] == ["needs_dod"]
    assert not [e for e in events(root, "retry_decision") if e["node_id"] == "check"]


async def test_a_status_file_outcome_is_case_folded(tmp_path: Path) -> None:
    """A tool's command writes the status file, as kilroy's agents do."""
    command = """echo '{"status": "HAS_DOD"}' > "$ATTRACTOR_STATUS_PATH" """
    dot = pipeline(tmp_path, f"  check [shape=parallelogram, tool_command={json.dumps(command)}]"
                   + ROUTER)
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert record.status == "success"
    assert ("check", "plan", "condition", 1) in edges_taken(root)
    assert _status(root, "check")["outcome"] == "has_dod"


async def test_a_condition_on_the_context_the_stage_sets_decides_with_it(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  router [shape=box, sim.outcome="route_me", sim.context_updates="{\\"phase\\": \\"dod\\"}"]
  a [shape=box]
  b [shape=box]
  start -> router
  router -> a [condition="outcome=route_me && context.phase=dod"]
  router -> b [condition="outcome=route_me && context.phase=plan"]
  a -> exit
  b -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert visited(tmp_path / "logs") == ["start", "router", "a", "exit"]


async def test_unmatched_custom_outcome_fails_once_naming_outcome_and_node(tmp_path: Path) -> None:
    # An unconditional edge does not make a custom outcome a decision: only a condition does.
    dot = pipeline(tmp_path, """
  check [shape=box, sim.outcome="maybe", max_retries=3]
  plan [shape=box]
  start -> check
  check -> plan [condition="outcome=needs_dod"]
  check -> exit
  plan -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    result = final(root)
    assert record.status == "fail"
    assert result["failure_reason"] == "outcome 'maybe' matched no edge out of check"
    assert result["failure_class"] == "deterministic"
    assert result["failed_node_id"] == "check"
    assert attempts(root, "check") == [1]
    [decision] = [e for e in events(root, "retry_decision") if e["node_id"] == "check"]
    assert decision["will_retry"] is False and "matched no edge" in decision["reason"]
    status = _status(root, "check")
    assert status["outcome"] == "fail" and status["details"] == {"unmatched_outcome": "maybe"}


async def test_unmatched_custom_outcome_of_a_tool_is_not_retried_either(tmp_path: Path) -> None:
    command = """echo '{"outcome": "rejected"}' > "$ATTRACTOR_STATUS_PATH" """
    dot = pipeline(tmp_path, f"""
  check [shape=parallelogram, max_retries=2, tool_command={json.dumps(command)}]
  start -> check
  check -> exit [condition="outcome=success"]""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "fail"
    assert attempts(tmp_path / "logs", "check") == [1]
    assert final(tmp_path / "logs")["failure_reason"] == (
        "outcome 'rejected' matched no edge out of check")


async def test_unmatched_custom_outcome_takes_the_failure_route(tmp_path: Path) -> None:
    """kilroy's review pattern: status=rejected with retry_target=postmortem."""
    dot = pipeline(tmp_path, """
  review [shape=box, sim.outcome="rejected,success", retry_target=postmortem, goal_gate=true]
  postmortem [shape=box]
  start -> review
  review -> exit [condition="outcome=success"]
  postmortem -> review""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert record.status == "success"
    assert ("review", "postmortem", "retry_target", 0) in edges_taken(root)
    assert visited(root) == ["start", "review", "postmortem", "review", "exit"]


async def test_a_custom_outcome_satisfies_a_goal_gate(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  review [shape=box, sim.outcome="approved", goal_gate=true, retry_target=review]
  start -> review
  review -> exit [condition="outcome=approved"]""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert final(tmp_path / "logs")["exit_path"] == "success"
    assert not events(tmp_path / "logs", "goal_gate_unsatisfied")


async def test_a_diamond_passes_a_custom_outcome_on(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  check [shape=box, sim.outcome="port"]
  gate [shape=diamond]
  impl [shape=box]
  start -> check
  check -> gate [condition="outcome=port"]
  gate -> impl [condition="outcome=port"]
  gate -> exit [condition="outcome=skip"]
  impl -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    assert visited(tmp_path / "logs") == ["start", "check", "gate", "impl", "exit"]


async def test_a_branch_ending_in_a_custom_outcome_counts_as_succeeded(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  fan [shape=component]
  a [shape=box, sim.outcome="done"]
  b [shape=box]
  join [shape=tripleoctagon]
  start -> fan
  fan -> a
  fan -> b
  a -> join [condition="outcome=done"]
  b -> join
  join -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert record.status == "success"
    [completed] = events(tmp_path / "logs", "parallel_completed")
    assert completed["status"] == "success"


def test_the_cli_ticks_a_routed_custom_outcome_and_explains_an_unmatched_one(
        tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  check [shape=box, sim.outcome="needs_dod"]' + ROUTER)
    done = attractor("run", dot, "--logs-root", tmp_path / "logs")
    assert done.returncode == 0, done.stderr
    assert "✓ check needs_dod (attempt 1" in done.stdout
    unmatched = pipeline(tmp_path, '  check [shape=box, sim.outcome="maybe"]' + ROUTER,
                         name="unmatched.dot")
    failed = attractor("run", unmatched, "--logs-root", tmp_path / "logs2")
    assert failed.returncode == 1
    assert "✗ check fail (attempt 1" in failed.stdout
    assert "outcome 'maybe' matched no edge out of check" in failed.stdout
