"""Parallel fan-out (spec §4.8): join policies, error policies, early termination,
bounded concurrency and exactly-once branches, through ``run_pipeline`` and the
run's artifacts."""

from __future__ import annotations

from pathlib import Path

from tests.concurrency.support import (
    context,
    gone,
    pids_in,
    results,
    sleeper,
    statuses,
    tool,
    waiter,
)
from tests.engine.support import events, final, pipeline, run


def _fan(attrs: str, branches: list[str], lines: list[str], join: str = "join") -> str:
    """``par`` fanning out to ``branches``, each edge'd straight to the fan-in ``join``."""
    edges = "\n".join(f"  par -> {b}\n  {b} -> {join}" for b in branches)
    return "\n".join([f"  par [shape=component{', ' + attrs if attrs else ''}]",
                      f"  {join} [shape=tripleoctagon]", *lines,
                      "  start -> par", edges, f"  {join} -> exit"])


def _box(node_id: str, outcome: str = "success", extra: str = "") -> str:
    more = f", {extra}" if extra else ""
    return f'  {node_id} [shape=box, prompt="p", sim.outcome="{outcome}"{more}]'


async def test_every_branch_node_runs_exactly_once(tmp_path: Path) -> None:
    ran = tmp_path / "ran.txt"
    body = "\n".join([
        "  par [shape=component]", "  join [shape=tripleoctagon]",
        tool("a1", f"echo a1 >> {ran}"), tool("a2", f"echo a2 >> {ran}"),
        tool("b1", f"echo b1 >> {ran}"), tool("c1", f"echo c1 >> {ran}"),
        tool("after", f"echo after >> {ran}"),
        "  start -> par", "  par -> a1 -> a2 -> join", "  par -> b1 -> join",
        "  par -> c1 -> join", "  join -> after -> exit",
    ])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    assert sorted(ran.read_text().split()) == ["a1", "a2", "after", "b1", "c1"]
    starts = [e["node_id"] for e in events(root, "stage_attempt_start")]
    assert starts.count("join") == 1 and all(starts.count(n) == 1 for n in ("a1", "a2", "b1"))


async def test_branch_logs_layout_and_results_file(tmp_path: Path) -> None:
    body = _fan("", ["a", "b"], [tool("a", "true"), _box("b")]).replace(
        "  b -> join", "  b -> b2\n  b2 -> join") + "\n" + _box("b2")
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, body), root)
    pass_dir = root / "parallel" / "par" / "pass-1"
    assert (pass_dir / "1-a" / "a" / "status.json").is_file()
    assert (pass_dir / "2-b" / "b" / "status.json").is_file()
    assert (pass_dir / "2-b" / "b2" / "status.json").is_file()
    data = results(root)
    assert data["join_node"] == "join" and data["status"] == "success"
    rows = data["results"]
    assert [(r["index"], r["branch_key"], r["status"]) for r in rows] == [
        (1, "a", "success"), (2, "b", "success")]
    assert rows[1]["completed_nodes"] == ["b", "b2"]
    assert rows[1]["logs_root"] == str(pass_dir / "2-b")
    ctx = context(root)
    assert ctx["parallel.join_node"] == "join"
    assert ctx["parallel.success_count"] == 2 and ctx["parallel.failure_count"] == 0
    assert [r["branch_key"] for r in ctx["parallel.results"]] == ["a", "b"]


async def test_wait_all_with_a_failure_is_partial_success(tmp_path: Path) -> None:
    body = _fan("", ["a", "b", "c"], [_box("a"), _box("b", "fail"), _box("c")])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    end = next(e for e in events(root, "stage_attempt_end") if e["node_id"] == "par")
    assert end["status"] == "partial_success"
    assert end["failure_reason"] == "1 of 3 branches failed"
    assert record.status == "success"  # the fan-in picks a winner and the run goes on


async def test_wait_all_with_every_branch_failed_fails_the_node(tmp_path: Path) -> None:
    body = _fan("", ["a", "b"], [_box("a", "fail", 'sim.failure_reason="disk full"'),
                                 _box("b", "fail", 'sim.failure_reason="no network"')])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "fail"
    assert record.failed_node_id == "par"
    assert "all 2 parallel branches failed" in record.failure_reason
    assert "a: disk full" in record.failure_reason and "b: no network" in record.failure_reason
    assert "join" not in [e["node_id"] for e in events(root, "stage_attempt_start")]


async def test_first_success_cancels_the_running_sibling(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    body = _fan("join_policy=first_success", ["fast", "slow"],
                [waiter("fast", pids), sleeper("slow", pids)])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    assert statuses(root) == {"fast": "success", "slow": "canceled"}
    assert await gone(pids_in(pids))
    assert [e["reason"] for e in events(root, "early_termination")] == [
        "first_success: branch fast succeeded"]
    assert context(root)["parallel.fan_in.best_id"] == "fast"


async def test_fail_fast_cancels_siblings_and_fails_the_node(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    body = _fan("error_policy=fail_fast", ["bad", "slow", "slow2"],
                [waiter("bad", pids, 2, "echo broken >&2; exit 3"),
                 sleeper("slow", pids), sleeper("slow2", pids)])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "fail"
    assert record.failure_reason == "fail_fast: branch bad failed: broken"
    assert statuses(root) == {"bad": "fail", "slow": "canceled", "slow2": "canceled"}
    assert await gone(pids_in(pids))
    canceled = [r for r in results(root)["results"] if r["status"] == "canceled"]
    assert all(r["failure_class"] == "canceled" for r in canceled)


async def test_k_of_n_stops_once_k_branches_succeeded(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    body = _fan("join_policy=k_of_n, k=2", ["a", "b", "s1", "s2"],
                [waiter("a", pids, 2), waiter("b", pids, 2), sleeper("s1", pids),
                 sleeper("s2", pids)])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    assert statuses(root) == {"a": "success", "b": "success", "s1": "canceled",
                              "s2": "canceled"}
    assert context(root)["parallel.success_count"] == 2
    assert await gone(pids_in(pids))


async def test_k_of_n_not_reached_fails_with_the_count(tmp_path: Path) -> None:
    body = _fan("join_policy=k_of_n, k=2", ["a", "b", "c"],
                [_box("a"), _box("b", "fail"), _box("c", "fail")])
    record = await run(pipeline(tmp_path, body), tmp_path / "logs")
    assert record.status == "fail"
    assert record.failure_reason == "k_of_n: only 1 of 3 branches succeeded (need 2)"


async def test_quorum_met_and_not_met(tmp_path: Path) -> None:
    lines = [_box("a"), _box("b"), _box("c", "fail"), _box("d", "fail")]
    met = await run(pipeline(tmp_path, _fan("join_policy=quorum", list("abcd"), lines),
                             "met.dot"), tmp_path / "met")
    assert met.status == "success"
    missed = await run(pipeline(tmp_path, _fan("join_policy=quorum, quorum_fraction=0.75",
                                               list("abcd"), lines), "missed.dot"),
                       tmp_path / "missed")
    assert missed.status == "fail"
    assert missed.failure_reason == ("quorum: only 2 of 4 branches succeeded "
                                     "(need 3, quorum_fraction=0.75)")


async def test_error_policy_ignore_drops_failures_from_the_join(tmp_path: Path) -> None:
    body = _fan("error_policy=ignore", ["a", "b"], [_box("a"), _box("b", "fail")])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    end = next(e for e in events(root, "stage_attempt_end") if e["node_id"] == "par")
    assert end["status"] == "success"
    assert record.status == "success"
    assert statuses(root) == {"a": "success", "b": "fail"}  # still recorded


async def test_error_policy_ignore_never_reports_success_over_nothing(tmp_path: Path) -> None:
    body = _fan("error_policy=ignore", ["a", "b"], [_box("a", "fail"), _box("b", "fail")])
    record = await run(pipeline(tmp_path, body), tmp_path / "logs")
    assert record.status == "fail"
    assert record.failure_reason.startswith("all 2 parallel branches failed (error_policy=ignore)")


async def test_max_parallel_bounds_running_branches(tmp_path: Path) -> None:
    log = tmp_path / "log"
    names = [f"b{i}" for i in range(5)]
    lines = [tool(n, f"echo start >> {log}; sleep 0.2; echo end >> {log}") for n in names]
    record = await run(pipeline(tmp_path, _fan("max_parallel=2", names, lines)),
                       tmp_path / "logs")
    assert record.status == "success"
    running, peak = 0, 0
    for word in log.read_text().split():
        running += 1 if word == "start" else -1
        peak = max(peak, running)
    assert peak == 2  # bounded, and the bound is really used


async def test_branches_not_started_after_early_termination_are_canceled(tmp_path: Path) -> None:
    body = _fan("join_policy=first_success, max_parallel=1", ["a", "b", "c"],
                [_box("a"), _box("b"), _box("c")])
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, body), root)
    rows = results(root)["results"]
    assert [r["status"] for r in rows] == ["success", "canceled", "canceled"]
    assert all(r["failure_reason"].startswith("not started: first_success") for r in rows[1:])
    assert [e["branch_key"] for e in events(root, "parallel_branch_started")] == ["a"]
    assert {e["node_id"] for e in events(root, "stage_attempt_start")} >= {"a"}
    assert not {"b", "c"} & {e["node_id"] for e in events(root, "stage_attempt_start")}


async def test_parallel_started_event_names_branches_join_and_policy(tmp_path: Path) -> None:
    body = _fan("", ["a"], [_box("a")])
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, body), root)
    assert final(root)["status"] == "success"
    started = events(root, "parallel_started")[0]
    assert (started["branch_count"], started["join_node"], started["join_policy"]) == (
        1, "join", "wait_all")


async def test_branch_contexts_are_isolated_and_never_merged(tmp_path: Path) -> None:
    body = "\n".join([
        "  par [shape=component]", '  j [shape=box, prompt="p"]',
        _box("a", extra='sim.context_updates="{\\"mark_a\\": 1, \\"shared\\": \\"a\\"}"'),
        _box("b", extra='sim.context_updates="{\\"mark_b\\": 2, \\"shared\\": \\"b\\"}"'),
        "  start -> par", "  par -> a -> j", "  par -> b -> j", "  j -> exit"])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    ctx = context(root)
    assert not {"mark_a", "mark_b", "shared"} & set(ctx)  # a plain join sees no branch's keys
    rows = {r["branch_key"]: r["context_updates"] for r in results(root)["results"]}
    assert (rows["a"]["mark_a"], rows["a"]["shared"]) == (1, "a") and "mark_b" not in rows["a"]
    assert (rows["b"]["mark_b"], rows["b"]["shared"]) == (2, "b") and "mark_a" not in rows["b"]


async def test_nested_parallel_inside_a_branch(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    body = "\n".join([
        "  outer [shape=component]", "  inner [shape=component]",
        "  ij [shape=tripleoctagon]", "  J [shape=tripleoctagon]",
        tool("p1", f"echo p1 >> {ran}"), tool("p2", f"echo p2 >> {ran}"),
        tool("x", f"echo x >> {ran}"), tool("y", f"echo y >> {ran}"),
        "  start -> outer", "  outer -> p1 -> inner", "  outer -> p2 -> J",
        "  inner -> x -> ij", "  inner -> y -> ij", "  ij -> J", "  J -> exit"])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root)
    assert record.status == "success"
    assert sorted(ran.read_text().split()) == ["p1", "p2", "x", "y"]
    outer = {r["branch_key"]: r for r in results(root, "outer")["results"]}
    assert outer["p1"]["completed_nodes"] == ["p1", "inner", "ij"]
    inner_file = root / "parallel" / "outer" / "pass-1" / "1-p1" / "inner" / "parallel_results.json"
    assert inner_file.is_file()
    keys = {e["branch_key"] for e in events(root, "stage_attempt_start") if e["node_id"] == "x"}
    assert keys == {"p1/x"}  # nested branch keys name their parent branch


async def test_stalled_branch_fails_transient_and_the_join_policy_decides(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    busy = "for i in $(seq 1 60); do echo tick $i; sleep 0.05; done"
    body = _fan("", ["quiet", "busy"], [sleeper("quiet", pids), tool("busy", busy)])
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, body), root,
                       policy_overrides={"stall_timeout": "1s", "stall_check_interval": "50ms"})
    assert record.status == "success"  # wait_all: partial_success, the fan-in picks busy
    rows = {r["branch_key"]: r for r in results(root)["results"]}
    assert rows["quiet"]["status"] == "fail"
    assert rows["quiet"]["failure_class"] == "transient_infra"
    assert rows["quiet"]["failure_reason"].startswith("branch quiet stalled")
    assert rows["busy"]["status"] == "success"
    assert context(root)["parallel.fan_in.best_id"] == "busy"
    assert await gone(pids_in(pids))
