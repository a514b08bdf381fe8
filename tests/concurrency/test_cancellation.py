"""A run cancellation stops every branch, whatever the error policy: no attempt starts
after it, final.json says ``canceled``, and no branch process survives."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.concurrency.support import gone, interrupted_when_running, pids_in, sleeper
from tests.engine.support import events, final, pipeline, run, start_attractor


def _sleeping_fan_out(tmp_path: Path, pids: Path, attrs: str) -> Path:
    body = "\n".join([
        f"  par [shape=component, {attrs}]", "  join [shape=tripleoctagon]",
        sleeper("a", pids), sleeper("b", pids), sleeper("c", pids),
        "  after [shape=parallelogram, tool_command=\"true\"]",
        "  start -> par", "  par -> a -> join", "  par -> b -> join", "  par -> c -> join",
        "  join -> after -> exit"])
    return pipeline(tmp_path, body)


async def _wait_for_pids(path: Path, count: int) -> list[int]:
    with trio.fail_after(60):
        while len(pids_in(path)) < count:
            await trio.sleep(0.02)
    return pids_in(path)


def _no_attempt_after_cancel(root: Path) -> None:
    all_events = events(root)
    first_exit = next(i for i, e in enumerate(all_events) if e["event"] == "cancellation_exit")
    assert not [e for e in all_events[first_exit:] if e["event"] == "stage_attempt_start"]
    started = {e["node_id"] for e in events(root, "stage_attempt_start")}
    assert started == {"start", "par", "a", "b", "c"}


async def test_sigint_during_parallel_branches_cancels_the_run(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    dot = _sleeping_fan_out(tmp_path, pids, "error_policy=ignore")
    root = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", root, "--quiet", cwd=tmp_path)
    code, branch_pids = await interrupted_when_running(proc, pids, 3)
    assert code == 3
    assert final(root)["status"] == "canceled"
    assert await gone(branch_pids)
    _no_attempt_after_cancel(root)
    assert {e["branch_key"] for e in events(root, "cancellation_exit")} >= {"a", "b", "c"}


async def test_api_cancellation_propagates_through_ignore_and_wait_all(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    dot = _sleeping_fan_out(tmp_path, pids, "error_policy=ignore, max_parallel=3")
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def runner() -> None:
            with scope:
                await run(dot, root)

        nursery.start_soon(runner)
        branch_pids = await _wait_for_pids(pids, 3)
        scope.cancel()
    assert final(root)["status"] == "canceled"
    assert await gone(branch_pids)
    _no_attempt_after_cancel(root)
    assert not (root / "par" / "parallel_results.json").exists()  # no verdict over a cancel



async def test_run_cancellation_stops_a_supervised_child(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    child = "\n".join(["digraph Child {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
                       sleeper("work", pids), "  start -> work -> exit", "}"])
    (tmp_path / "child.dot").write_text(child + "\n")
    body = ('  mgr [shape=house, stack.child_dotfile="child.dot", manager.poll_interval="50ms"]\n'
            "  start -> mgr -> exit")
    root = tmp_path / "logs"
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def runner() -> None:
            with scope:
                await run(pipeline(tmp_path, body), root)

        nursery.start_soon(runner)
        child_pids = await _wait_for_pids(pids, 1)
        scope.cancel()
    assert final(root)["status"] == "canceled"
    assert final(root / "mgr" / "child")["status"] == "canceled"
    assert await gone(child_pids)
    assert "exit" not in {e["node_id"] for e in events(root, "stage_attempt_start")}
