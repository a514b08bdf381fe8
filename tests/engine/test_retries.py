"""Retries (spec §3.5-3.6, gated by failure class per docs/spec-deltas.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from attractor_core.model import Context, Graph, Node, Outcome, StageStatus
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.protocols import StageRun

from .support import attempts, events, final, pipeline, read_json, run


def _decisions(root: Path, node: str) -> list[tuple[int, bool]]:
    return [(e["attempt"], e["will_retry"]) for e in events(root, "retry_decision")
            if e["node_id"] == node]


async def test_max_retries_bounds_retry_outcomes_then_fails(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, sim.outcome=retry, sim.failure_reason="not yet", max_retries=2]
  start -> work -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert attempts(root, "work") == [1, 2, 3]
    assert _decisions(root, "work") == [(1, True), (2, True), (3, False)]
    assert [e["attempt"] for e in events(root, "stage_retry_sleep")] == [1, 2]
    data = final(root)
    assert (record.status, data["exit_path"], data["failed_node_id"]) == (
        "fail", "stage_failed", "work")
    assert data["failure_reason"].startswith("retries exhausted after 3 attempt(s)")
    assert "not yet" in data["failure_reason"]
    # status.json says how the stage ended, not what its last attempt asked for.
    status = read_json(root / "work" / "status.json")
    assert (status["outcome"], status["attempt"]) == ("fail", 3)
    assert status["failure_reason"] == data["failure_reason"]


async def test_graph_default_max_retries_applies_and_node_value_wins(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  graph [default_max_retries=1]
  inherits [shape=box, sim.outcome="retry,success"]
  explicit [shape=box, sim.outcome="retry,success", max_retries=0]
  start -> inherits -> explicit -> exit""")
    await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert attempts(root, "inherits") == [1, 2]
    assert attempts(root, "explicit") == [1]


async def test_no_retries_by_default(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  w [shape=box, sim.outcome="retry,success"]\n'
                             "  start -> w -> exit")
    record = await run(dot, tmp_path / "logs")
    assert attempts(tmp_path / "logs", "w") == [1]
    assert record.status == "fail"


@pytest.mark.parametrize(("preset", "count", "first_delay"), [
    ("none", 1, None), ("standard", 5, 200), ("linear", 3, 500),
])
async def test_retry_policy_presets_set_attempts_and_backoff(
        tmp_path: Path, preset: str, count: int, first_delay: int | None) -> None:
    # Every attempt succeeds after the first, so only the first delay is slept.
    dot = pipeline(tmp_path, f"""
  work [shape=box, retry_policy={preset}, sim.outcome="retry,success"]
  start -> work -> exit""")
    await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    retry_events = events(root, "retry_decision")
    assert retry_events[0]["max_retries"] == count - 1
    sleeps = [e["delay_ms"] for e in events(root, "stage_retry_sleep")]
    if first_delay is None:
        assert sleeps == [] and attempts(root, "work") == [1]
    else:
        [delay] = sleeps
        assert first_delay * 0.5 <= delay <= first_delay * 1.5  # jitter is 0.5x-1.5x


async def test_backoff_grows_by_factor_with_jitter(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, retry_policy=standard, max_retries=3, sim.outcome="retry,retry,retry,success"]
  start -> work -> exit""")
    await run(dot, tmp_path / "logs")
    sleeps = [(e["attempt"], e["delay_ms"]) for e in events(tmp_path / "logs",
                                                             "stage_retry_sleep")]
    assert [a for a, _ in sleeps] == [1, 2, 3]
    for attempt, delay in sleeps:
        base = 200 * 2 ** (attempt - 1)
        assert base * 0.5 <= delay <= base * 1.5
    # The sleep is announced after the decision and before the next attempt.
    order = [e["event"] for e in events(tmp_path / "logs")
             if e["event"] in ("retry_decision", "stage_retry_sleep", "stage_attempt_start")
             and e.get("node_id") == "work"]
    assert order[:4] == ["stage_attempt_start", "retry_decision", "stage_retry_sleep",
                         "stage_attempt_start"]


async def test_deterministic_failure_is_not_retried_on_codergen(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, max_retries=3, sim.outcome="fail,success"]
  start -> work -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert attempts(root, "work") == [1]
    [decision] = events(root, "retry_decision")
    assert not decision["will_retry"]
    assert "not retryable" in decision["reason"]
    assert record.status == "fail"


async def test_transient_failure_is_retried(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, max_retries=3, sim.outcome="fail,success",
        sim.failure_class=transient_infra]
  start -> work -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert attempts(tmp_path / "logs", "work") == [1, 2]
    assert record.status == "success"


async def test_tool_nodes_retry_any_failure(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  t [shape=parallelogram, max_retries=1, tool_command="echo boom >&2; exit 4"]
  start -> t -> exit""")
    record = await run(dot, tmp_path / "logs", workdir=tmp_path)
    root = tmp_path / "logs"
    assert attempts(root, "t") == [1, 2]
    assert record.failure_reason == "boom"
    # The earlier attempt is archived with its own logs and status.
    archived = read_json(root / "t" / "attempt-1" / "status.json")
    assert (archived["outcome"], archived["attempt"]) == ("fail", 1)
    assert (root / "t" / "attempt-1" / "stderr.log").read_text() == "boom\n"
    assert read_json(root / "t" / "status.json")["attempt"] == 2


async def test_allow_partial_turns_exhausted_retries_into_partial_success(
        tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  work [shape=box, max_retries=1, allow_partial=true, sim.outcome=retry]
  next [shape=box]
  start -> work
  work -> next [condition="outcome=partial_success"]
  work -> exit
  next -> exit""")
    record = await run(dot, tmp_path / "logs")
    root = tmp_path / "logs"
    assert attempts(root, "work") == [1, 2]
    assert read_json(root / "work" / "status.json")["outcome"] == "partial_success"
    assert "next" in record.completed_nodes
    assert record.status == "success"


class _CountingHandler:
    """Asks for a retry until its third attempt; logs the retry counter it saw."""

    def __init__(self, log: Path):
        self.log = log

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        seen = context.get(f"internal.retry_count.{node.id}")
        with self.log.open("a") as fh:
            fh.write(json.dumps({"attempt": run.attempt, "retry_count": seen}) + "\n")
        if run.attempt < 3:
            return Outcome(StageStatus.RETRY, failure_reason="again")
        return Outcome.success()


class _CountingPlugin:
    def __init__(self, log: Path):
        self.log = log

    @hookimpl
    def attractor_handler_types(self) -> dict[str, Any]:
        return {"counting": _CountingHandler(self.log)}


async def test_internal_retry_count_is_visible_to_the_handler(tmp_path: Path) -> None:
    log = tmp_path / "seen.ndjson"
    dot = pipeline(tmp_path, """
  c [shape=box, type=counting, max_retries=5]
  start -> c -> exit""")
    pm = make_plugin_manager(extra_plugins=[_CountingPlugin(log)])
    record = await run(dot, tmp_path / "logs", pm=pm)
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert seen == [{"attempt": 1, "retry_count": None}, {"attempt": 2, "retry_count": 1},
                    {"attempt": 3, "retry_count": 2}]
    assert record.status == "success"
    assert sorted(p.name for p in (tmp_path / "logs" / "c").iterdir()) == [
        "attempt-1", "attempt-2", "status.json"]


async def test_node_timeout_is_a_transient_failure_and_is_retried(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  slow [shape=box, sim.delay=30s, timeout=100ms, max_retries=1]
  start -> slow -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert attempts(tmp_path / "logs", "slow") == [1, 2]
    assert (record.status, record.failed_node_id) == ("fail", "slow")
    assert (record.failure_reason, record.failure_class) == (
        "stage timeout after 100ms", "transient_infra")


async def test_a_preset_attempt_count_beats_the_graph_default(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  graph [default_max_retries=0]
  work [shape=box, retry_policy=linear, sim.outcome="retry,retry,success"]
  start -> work -> exit""")
    record = await run(dot, tmp_path / "logs")
    assert attempts(tmp_path / "logs", "work") == [1, 2, 3]
    assert record.status == "success"
