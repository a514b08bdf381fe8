"""Fan-in (spec §4.9): the winner among finished branches, the winner's context,
and the aggregated failure when no branch finished well."""

from __future__ import annotations

from pathlib import Path

from tests.concurrency.support import context, tool
from tests.engine.support import events, pipeline, run


def _box(node_id: str, outcome: str = "success", extra: str = "") -> str:
    more = f", {extra}" if extra else ""
    return f'  {node_id} [shape=box, prompt="p", sim.outcome="{outcome}"{more}]'


def _graph(lines: list[str], branches: list[str], fan_in: str = "",
           par_to_join: str = "") -> str:
    return "\n".join([
        "  par [shape=component]", f"  join [shape=tripleoctagon{fan_in}]", *lines,
        "  start -> par", *(f"  par -> {b} -> join" for b in branches),
        par_to_join, "  join -> exit"])


async def test_parallel_to_fan_in_to_exit_picks_best_status_and_applies_its_context(
        tmp_path: Path) -> None:
    lines = [_box("a", "partial_success", 'sim.context_updates="{\\"answer\\": \\"from a\\"}"'),
             _box("b", "success", 'sim.context_updates="{\\"answer\\": \\"from b\\"}"'),
             _box("c", "fail")]
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, _graph(lines, ["a", "b", "c"])), root)
    assert record.status == "success"
    assert record.completed_nodes == ("start", "par", "join", "exit")
    ctx = context(root)
    assert ctx["parallel.fan_in.best_id"] == "b"  # success outranks partial_success and key
    assert ctx["parallel.fan_in.best_outcome"] == "success"
    assert ctx["answer"] == "from b"  # the winner's branch changes reach the main path
    assert sorted(ctx["parallel.fan_in.losers"]) == ["a", "c"]


async def test_ties_break_on_branch_key(tmp_path: Path) -> None:
    lines = [_box("zeta"), _box("alpha")]
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, _graph(lines, ["zeta", "alpha"])), root)
    assert context(root)["parallel.fan_in.best_id"] == "alpha"


async def test_all_failed_aggregates_reasons_and_transient_class(tmp_path: Path) -> None:
    transient = 'sim.failure_class="transient_infra"'
    lines = [_box("a", "fail", f'sim.failure_reason="503 from api", {transient}'),
             _box("b", "fail", f'sim.failure_reason="timeout", {transient}')]
    # A fail edge hands the failed fan-out to the fan-in, which must then fail.
    body = _graph(lines, ["a", "b"], par_to_join='  par -> join [condition="outcome=fail"]')
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "fail"
    assert record.failed_node_id == "join"
    assert record.failure_reason == ("all 2 parallel branches failed: a: 503 from api; "
                                     "b: timeout")
    assert record.failure_class == "transient_infra"
    assert record.failure_signature.startswith("parallel_all_failed|transient_infra|branches=2|")


async def test_all_failed_with_mixed_classes_is_deterministic(tmp_path: Path) -> None:
    lines = [_box("a", "fail", 'sim.failure_class="transient_infra"'), _box("b", "fail")]
    body = _graph(lines, ["a", "b"], par_to_join='  par -> join [condition="outcome=fail"]')
    record = await run(pipeline(tmp_path, body), tmp_path / "logs")
    assert record.failed_node_id == "join"
    assert record.failure_class == "deterministic"
    assert record.failure_signature.startswith("parallel_all_failed|deterministic|")


async def test_fan_in_without_parallel_results_fails_structural(tmp_path: Path) -> None:
    body = "  join [shape=tripleoctagon]\n  start -> join -> exit"
    record = await run(pipeline(tmp_path, body), tmp_path / "logs")
    assert record.status == "fail"
    assert record.failure_class == "structural"
    assert "no parallel.results" in record.failure_reason


async def test_prompt_on_fan_in_with_simulate_falls_back_to_the_heuristic(tmp_path: Path) -> None:
    body = _graph([_box("a"), _box("b")], ["a", "b"], fan_in=', prompt="pick the best"')
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    warnings = [e["message"] for e in events(root, "warning") if e.get("node_id") == "join"]
    assert any("LLM ranking named no candidate" in w for w in warnings)  # simulate text
    assert context(root)["parallel.fan_in.best_id"] == "a"


async def test_higher_score_wins_among_equal_statuses(tmp_path: Path) -> None:
    def scored(node_id: str, score: float) -> str:
        status = f'{{"outcome": "success", "details": {{"score": {score}}}}}'
        return tool(node_id, f"echo '{status}' > $ATTRACTOR_STATUS_PATH")

    root = tmp_path / "logs"
    await run(pipeline(tmp_path, _graph([scored("a", 0.2), scored("b", 0.9)], ["a", "b"])), root)
    assert context(root)["parallel.fan_in.best_id"] == "b"
