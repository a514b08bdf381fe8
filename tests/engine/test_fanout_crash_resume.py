"""Crash-resume inside a fan-out: ``attractor run`` SIGKILLed mid-fan-out, then resumed.

Every stage is a real ``tool`` that appends its node id to a side-effect
file of its branch. The run is killed once a random number of those side
effects have happened, then ``attractor resume`` finishes it. Each stage
must have run exactly once over all processes, plus at most once more per
kill that found it in flight in its lane (the main path, a branch, a child
run); the join verdict and final.json must be those of an uninterrupted
run. The same holds for a nested parallel inside each branch, for a
sub-pipeline and a manager loop whose child fans out, for five kills in a
row, and for a SIGINT instead of a SIGKILL.

The seed is printed (``-s`` shows it) and can be replayed with
``ATTRACTOR_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from attractor_core.runtime.checkpoint import CheckpointError, load_checkpoint
from tests.engine.test_crash_resume import attractor

pytestmark = pytest.mark.slow

POLL_S = 0.003
RUN_TIMEOUT_S = 120
STAGE = "sleep 0.01; echo {node} >> side/{lane}.txt; sleep 0.01"


def _seed() -> int:
    seed = int(os.environ.get("ATTRACTOR_CRASH_SEED", random.randrange(2**32)))
    print(f"fan-out crash seed: {seed} (replay with ATTRACTOR_CRASH_SEED={seed})")
    return seed


def tool(node: str, lane: str) -> str:
    return f'  {node} [shape=parallelogram, tool_command="{STAGE.format(node=node, lane=lane)}"]'


def flat_fanout(n: int) -> str:
    """``par`` fans out to n branches of two stages each (a_i then b_i), max 8 at a time."""
    lines = ["  par [shape=component, max_parallel=8]", "  join [shape=tripleoctagon]",
             "  start -> par", "  join -> exit"]
    for i in range(1, n + 1):
        lines += [tool(f"a{i}", f"b{i}"), tool(f"b{i}", f"b{i}"),
                  f"  par -> a{i} -> b{i} -> join"]
    return _digraph(lines)


def nested_fanout(n: int, m: int) -> str:
    """Each of n outer branches runs o_i, then its own parallel p_i over m inner
    branches (one stage each) joined at j_i, then z_i."""
    lines = ["  par [shape=component, max_parallel=4]", "  join [shape=tripleoctagon]",
             "  start -> par", "  join -> exit"]
    for i in range(1, n + 1):
        lane = f"o{i}"
        lines += [tool(f"o{i}", lane), tool(f"z{i}", lane),
                  f"  p{i} [shape=component, max_parallel=3]", f"  j{i} [shape=tripleoctagon]",
                  f"  par -> o{i} -> p{i}", f"  j{i} -> z{i} -> join"]
        for k in range(1, m + 1):
            lines += [tool(f"i{i}_{k}", f"o{i}_{k}"), f"  p{i} -> i{i}_{k} -> j{i}"]
    return _digraph(lines)


SUBGRAPH = '  sub [type="subgraph", subgraph.dotfile="child.dot"]'
MANAGER = ('  sub [shape=house, stack.child_dotfile="child.dot", manager.poll_interval="50ms", '
           'manager.actions="observe,wait"]')


def subpipeline_parent(node: str = SUBGRAPH) -> str:
    return _digraph([tool("pre", "main"), tool("post", "main"), node,
                     "  start -> pre -> sub -> post -> exit"])


def subpipeline_child(stages: int, n: int) -> str:
    """A chain of stages c1..cK, then a fan-out over n one-stage branches."""
    chain = [f"c{k}" for k in range(1, stages + 1)]
    lines = [*(tool(c, "child") for c in chain), "  cpar [shape=component, max_parallel=6]",
             "  cjoin [shape=tripleoctagon]", "  " + " -> ".join(["start", *chain, "cpar"]),
             "  cjoin -> exit"]
    for i in range(1, n + 1):
        lines += [tool(f"cb{i}", f"cb{i}"), f"  cpar -> cb{i} -> cjoin"]
    return _digraph(lines, name="Child")


def _digraph(lines: list[str], name: str = "Fan") -> str:
    return "\n".join([f"digraph {name} {{", '  graph [goal="fan out, crash, resume"]',
                      "  start [shape=Mdiamond]", "  exit [shape=Msquare]", *lines, "}"]) + "\n"


def side_effects_done(work: Path) -> int:
    """How many stage side effects have happened so far (the kill moment's clock)."""
    total = 0
    for path in (work / "side").glob("*.txt"):
        try:
            total += path.read_bytes().count(b"\n")
        except FileNotFoundError:
            continue
    return total


def run_until(cmd: list[str], log: Path, kill_when: Callable[[], bool],
              sig: signal.Signals = signal.SIGKILL, expect_rc: int = -signal.SIGKILL) -> None:
    """Start ``cmd`` and send it ``sig`` as soon as ``kill_when()`` holds (it must not end
    first); it must then exit with ``expect_rc``."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while not kill_when():
                assert proc.poll() is None, f"the run ended before the kill; see {log}"
                assert time.monotonic() < deadline, f"kill moment never came; see {log}"
                time.sleep(POLL_S)
            proc.send_signal(sig)
            assert proc.wait(timeout=60) == expect_rc, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def in_flight_at_kill(logs: Path) -> set[str]:
    """The stages each lane had in flight, from every checkpoint in the logs root."""
    nodes = set()
    for path in logs.rglob("checkpoint.json"):
        if any(p.startswith("attempt-") for p in path.relative_to(logs).parts):
            continue
        try:
            cp = load_checkpoint(path)
        except CheckpointError:
            continue
        if cp.in_flight is not None:
            nodes.add(cp.in_flight.node_id)
    return nodes


def side_effects(work: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in (work / "side").glob("*.txt"):
        counts.update(path.read_text().split())
    return counts


def crash_and_resume(tmp_path: Path, dot_text: str, kills: list[int],
                     extra_files: dict[str, str] | None = None) -> tuple[Path, Path, Counter[str]]:
    """Run the pipeline and SIGKILL it once it has done ``kills[0]`` stage side effects,
    resume it and kill the resume once it has done ``kills[1]`` more, and so on; let the
    last resume end. Returns the logs root, the workdir and how often each stage was in
    flight at a kill."""
    dot = tmp_path / "fan.dot"
    dot.write_text(dot_text)
    for name, text in (extra_files or {}).items():
        (tmp_path / name).write_text(text)
    logs, work, log = tmp_path / "logs", tmp_path / "work", tmp_path / "output.log"
    (work / "side").mkdir(parents=True)
    cmd = attractor("run", dot, "--workdir", work, "--logs-root", logs, "--quiet")
    in_flight: Counter[str] = Counter()
    for kill_after in kills:
        target = side_effects_done(work) + kill_after
        run_until(cmd, log, lambda k=target: side_effects_done(work) >= k)
        assert not (logs / "final.json").exists()
        in_flight.update(in_flight_at_kill(logs))
        cmd = attractor("resume", "--logs-root", logs, "--quiet")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          check=False)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}{log.read_text()}"
    final = json.loads((logs / "final.json").read_text())
    assert (final["status"], final["exit_path"]) == ("success", "success"), final
    return logs, work, in_flight


def check_once(work: Path, stages: list[str], in_flight: Counter[str], where: str) -> None:
    """Each stage ran once, plus at most once more per kill that found it in flight."""
    counts = side_effects(work)
    assert set(counts) == set(stages), where
    for stage in stages:
        assert 1 <= counts[stage] <= 1 + in_flight[stage], f"{stage} ran {counts[stage]}x; {where}"


def run_trials(trial: Callable[[int], None], count: int) -> None:
    """Run the trials side by side (each waits on its own subprocesses); the first
    failure is raised."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        for future in [pool.submit(trial, i) for i in range(count)]:
            future.result()


def check_join(results_file: Path, n: int) -> None:
    data = json.loads(results_file.read_text())
    assert (data["status"], data["failure_reason"]) == ("success", ""), data
    rows = data["results"]
    assert [r["index"] for r in rows] == list(range(1, n + 1))
    assert {r["status"] for r in rows} == {"success"}
    assert sorted(r["finish_order"] for r in rows) == list(range(1, n + 1))


def test_sigkill_mid_fanout_then_resume_runs_each_finished_branch_once(tmp_path: Path) -> None:
    n, rng = 60, random.Random(_seed())
    stages = [s for i in range(1, n + 1) for s in (f"a{i}", f"b{i}")]
    kills = [rng.randrange(10, 2 * n - 20) for _ in range(3)]  # moments inside the fan-out

    def trial(index: int) -> None:
        where = f"trial {index}, killed after {kills[index]} stages"
        root = tmp_path / f"trial-{index}"
        root.mkdir()
        logs, work, in_flight = crash_and_resume(root, flat_fanout(n), [kills[index]])
        # Only the stages in flight at the kill are repeated: never a finished branch,
        # never an in-flight branch's completed first stage.
        assert set(in_flight) - {"par"} and set(in_flight) <= {"par", *stages}, where
        check_once(work, stages, in_flight, where)
        check_join(logs / "par" / "parallel_results.json", n)
        final = json.loads((logs / "final.json").read_text())
        assert final["completed_nodes"] == ["start", "par", "join", "exit"], where
        # The resumed attempt continued the interrupted dispatch: one pass, no second.
        assert [p.name for p in (logs / "parallel" / "par").iterdir()] == ["pass-1"], where

    run_trials(trial, len(kills))


def test_sigkill_in_nested_fanout_then_resume(tmp_path: Path) -> None:
    n, m, rng = 8, 4, random.Random(_seed())
    stages = [s for i in range(1, n + 1)
              for s in (f"o{i}", f"z{i}", *(f"i{i}_{k}" for k in range(1, m + 1)))]
    kills = [rng.randrange(6, len(stages) - 10) for _ in range(2)]

    def trial(index: int) -> None:
        where = f"trial {index}, killed after {kills[index]} stages"
        root = tmp_path / f"trial-{index}"
        root.mkdir()
        logs, work, in_flight = crash_and_resume(root, nested_fanout(n, m), [kills[index]])
        check_once(work, stages, in_flight, where)
        check_join(logs / "par" / "parallel_results.json", n)
        for i in range(1, n + 1):
            check_join(logs / "parallel" / "par" / "pass-1" / f"{i}-o{i}" / f"p{i}"
                       / "parallel_results.json", m)

    run_trials(trial, len(kills))


def test_sigkill_in_subpipeline_fanout_then_resume(tmp_path: Path) -> None:
    chain, n, rng = 6, 24, random.Random(_seed())
    stages = ["pre", "post", *(f"c{k}" for k in range(1, chain + 1)),
              *(f"cb{i}" for i in range(1, n + 1))]
    child_root = Path("sub") / "child"
    # A subgraph node killed in its child's chain, then in its child's fan-out; then a
    # manager loop's child killed in its fan-out.
    nodes = (SUBGRAPH, SUBGRAPH, MANAGER)
    kills = [rng.randrange(2, 1 + chain), *(rng.randrange(2 + chain, len(stages) - 10)
                                             for _ in nodes[1:])]

    def trial(index: int) -> None:
        where = f"trial {index}, killed after {kills[index]} stages"
        root = tmp_path / f"trial-{index}"
        root.mkdir()
        logs, work, in_flight = crash_and_resume(
            root, subpipeline_parent(nodes[index]), [kills[index]],
            {"child.dot": subpipeline_child(chain, n)})
        assert "sub" in in_flight, where
        check_once(work, stages, in_flight, where)
        check_join(logs / child_root / "cpar" / "parallel_results.json", n)
        child_final = json.loads((logs / child_root / "final.json").read_text())
        assert child_final["status"] == "success", where
        assert child_final["completed_nodes"] == ["start", *(f"c{k}" for k in range(1, chain + 1)),
                                                  "cpar", "cjoin", "exit"], where

    run_trials(trial, len(kills))


def test_a_fanout_interrupted_more_often_than_the_crash_limit_still_completes(
        tmp_path: Path) -> None:
    """Five kills in one fan-out: each is charged to the stages in flight in the branches,
    not to the parallel node, so the crash-rerun limit (3) never fails it. Each process
    runs at least twice max_parallel stages before its kill, so the stages it found in
    flight are done by then and no stage is in flight at more than 3 kills."""
    n, rng = 60, random.Random(_seed())
    stages = [s for i in range(1, n + 1) for s in (f"a{i}", f"b{i}")]
    kills = [rng.randrange(16, 21) for _ in range(5)]
    logs, work, in_flight = crash_and_resume(tmp_path, flat_fanout(n), kills)
    where = f"processes killed after {kills} stages each"
    assert in_flight["par"] == 5, where
    check_once(work, stages, in_flight, where)
    check_join(logs / "par" / "parallel_results.json", n)


def test_sigint_mid_fanout_then_resume_reruns_no_finished_branch_and_charges_no_crash(
        tmp_path: Path) -> None:
    n, rng = 30, random.Random(_seed())
    stages = [s for i in range(1, n + 1) for s in (f"a{i}", f"b{i}")]
    dot = tmp_path / "fan.dot"
    dot.write_text(flat_fanout(n))
    logs, work, log = tmp_path / "logs", tmp_path / "work", tmp_path / "output.log"
    (work / "side").mkdir(parents=True)
    stop_after = rng.randrange(5, 2 * n - 15)
    run_until(attractor("run", dot, "--workdir", work, "--logs-root", logs, "--quiet"), log,
              lambda: side_effects_done(work) >= stop_after, signal.SIGINT, 3)
    assert json.loads((logs / "final.json").read_text())["exit_path"] == "canceled"
    in_flight = Counter(in_flight_at_kill(logs))
    branch_checkpoints = list((logs / "parallel" / "par" / "pass-1").glob("*/checkpoint.json"))
    assert all(load_checkpoint(p).stopped_cleanly or load_checkpoint(p).in_flight is None
               for p in branch_checkpoints)
    done = subprocess.run(attractor("resume", "--logs-root", logs, "--quiet"),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}"
    where = f"stopped after {stop_after} stages"
    check_once(work, stages, in_flight, where)
    check_join(logs / "par" / "parallel_results.json", n)
    # A stop on purpose is not a crash: nothing is charged, in the run or in any branch.
    charged = [load_checkpoint(p).crash_reruns for p in [logs / "checkpoint.json",
                                                         *branch_checkpoints]]
    assert not any(charged), where


def test_a_branch_whose_checkpoint_is_unreadable_fails_alone_and_is_not_rerun(
        tmp_path: Path) -> None:
    n = 12
    dot = tmp_path / "fan.dot"
    dot.write_text(flat_fanout(n))
    logs, work, log = tmp_path / "logs", tmp_path / "work", tmp_path / "output.log"
    (work / "side").mkdir(parents=True)
    run_until(attractor("run", dot, "--workdir", work, "--logs-root", logs, "--quiet"), log,
              lambda: side_effects_done(work) >= 6)
    pass_dir = logs / "parallel" / "par" / "pass-1"
    branch = next(p.parent for p in sorted(pass_dir.glob("*/checkpoint.json"))
                  if load_checkpoint(p).branch_result is None)
    (branch / "checkpoint.json").write_text("{not json")
    before = side_effects(work)
    done = subprocess.run(attractor("resume", "--logs-root", logs, "--quiet"),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}"
    rows = {r["logs_root"]: r for r in
            json.loads((logs / "par" / "parallel_results.json").read_text())["results"]}
    bad = rows[str(branch)]
    assert (bad["status"], bad["failure_class"]) == ("fail", "structural")
    assert bad["failure_reason"].startswith(f"cannot continue branch {bad['branch_key']}: ")
    assert str(branch / "checkpoint.json") in bad["failure_reason"]
    assert [r["status"] for r in rows.values()].count("success") == n - 1
    index = bad["index"]
    assert side_effects(work)[f"a{index}"] == before[f"a{index}"]  # not run again
