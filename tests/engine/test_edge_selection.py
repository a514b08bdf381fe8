"""Edge selection (spec §3.3): the five steps, each reported by an
``edge_selected`` event carrying ``reason`` and ``step``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import edges_taken, events, pipeline, run, visited


def _fan(choice_attrs: str, edges: str) -> str:
    """``a`` (with ``choice_attrs``) fans out to x, y, z, which all go to exit."""
    return f"""
  a [shape=box, {choice_attrs}]
  x [shape=box]
  y [shape=box]
  z [shape=box]
  start -> a
{edges}
  x -> exit
  y -> exit
  z -> exit"""


async def _chosen(tmp_path: Path, body: str) -> tuple[str, str, int]:
    await run(pipeline(tmp_path, body), tmp_path / "logs")
    [(_, target, reason, step)] = [e for e in edges_taken(tmp_path / "logs") if e[0] == "a"]
    return target, reason, step


async def test_step1_condition_match_with_weight_then_lexical_among_matches(
        tmp_path: Path) -> None:
    body = _fan("sim.outcome=success", """
  a -> z [condition="outcome=success", weight=2]
  a -> y [condition="outcome=success", weight=2]
  a -> x [condition="outcome=fail", weight=9]""")
    assert await _chosen(tmp_path, body) == ("y", "condition", 1)


async def test_step1_edge_event_carries_label_and_condition(tmp_path: Path) -> None:
    body = _fan("sim.outcome=success", """
  a -> y [condition="outcome=success", label="Ok"]
  a -> x
  a -> z""")
    await run(pipeline(tmp_path, body), tmp_path / "logs")
    [event] = [e for e in events(tmp_path / "logs", "edge_selected") if e["from_node"] == "a"]
    assert (event["label"], event["condition"]) == ("Ok", "outcome=success")


async def test_step2_preferred_label_beats_suggested_ids_and_weight(tmp_path: Path) -> None:
    body = _fan('sim.preferred_label="Ship", sim.suggested_next_ids="x"', """
  a -> x [weight=10]
  a -> y [label="Ship"]
  a -> z""")
    assert await _chosen(tmp_path, body) == ("y", "preferred_label", 2)


@pytest.mark.parametrize(("preferred", "label"), [
    ("approve", "[A] Approve"),
    ("  YES ", "Y) Yes"),
    ("no", "N - No"),
    ("[R] Rework", "rework"),
])
async def test_step2_labels_are_normalised_with_accelerators(
        tmp_path: Path, preferred: str, label: str) -> None:
    body = _fan(f'sim.preferred_label="{preferred}"', f"""
  a -> x [weight=5]
  a -> y [label="Other"]
  a -> z [label="{label}"]""")
    assert await _chosen(tmp_path, body) == ("z", "preferred_label", 2)


async def test_step2_preferred_label_ignores_conditional_edges(tmp_path: Path) -> None:
    body = _fan('sim.preferred_label="Go"', """
  a -> x [label="Go", condition="context.never=1"]
  a -> y [weight=-1]
  a -> z""")
    assert await _chosen(tmp_path, body) == ("z", "weight", 4)


async def test_step3_suggested_next_ids_in_their_order(tmp_path: Path) -> None:
    body = _fan('sim.preferred_label="nothing matches", sim.suggested_next_ids="z,y"', """
  a -> x [weight=10]
  a -> y
  a -> z""")
    assert await _chosen(tmp_path, body) == ("z", "suggested_next_ids", 3)


async def test_step4_highest_weight(tmp_path: Path) -> None:
    body = _fan("sim.outcome=success", """
  a -> x [weight=1]
  a -> z [weight=3]
  a -> y [weight=2]""")
    assert await _chosen(tmp_path, body) == ("z", "weight", 4)


async def test_step5_lexical_tiebreak_between_equal_weights(tmp_path: Path) -> None:
    body = _fan("sim.outcome=success", """
  a -> z [weight=3]
  a -> y [weight=3]
  a -> x [weight=1]""")
    assert await _chosen(tmp_path, body) == ("y", "lexical", 5)


async def test_conditions_only_and_none_match_after_success_is_a_dead_end(
        tmp_path: Path) -> None:
    """A non-failed stage with no eligible edge ends the run (spec §3.2 step 6)."""
    body = _fan("sim.outcome=success", """
  a -> x [condition="outcome=fail"]
  a -> y [condition="context.flag=1"]
  a -> z [condition="outcome=retry"]""")
    record = await run(pipeline(tmp_path, body), tmp_path / "logs")
    assert (record.status, record.exit_path) == ("success", "dead_end")
    assert visited(tmp_path / "logs") == ["start", "a"]
