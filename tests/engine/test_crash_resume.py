"""Crash-resume proof: ``attractor run`` SIGKILLed at random moments, then resumed.

A pipeline of eight tool nodes, each appending its id to ``side.txt`` in
the workdir, runs as a real subprocess. Each trial kills it at a random
moment (stratified over the run's duration, so every phase is hit), then
``attractor resume`` continues it; some trials kill the resumes too
before letting the last one finish. While the runs go, a reader task
keeps reading every JSON artifact and records any read that does not
parse. Every trial must end exactly like an uninterrupted run, with each
node's side effect done once, plus at most one repeat per kill for the
node that was in flight at that kill.

The seed is printed (``-s`` shows it) and can be replayed with
``ATTRACTOR_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
from attrs import define, field, frozen

from attractor_core.runtime.checkpoint import CheckpointError, load_checkpoint
from attractor_core.runtime.serialization import CONVERTER

NODES = tuple(f"n{i}" for i in range(1, 9))
TRIALS = 52
MIN_KILLS = 50
CONCURRENCY = 4
MULTI_KILL_EVERY = 4  # every 4th trial also kills two of its resumes
RUN_TIMEOUT_S = 60
READ_INTERVAL_S = 0.002
POLL_S = 0.002
JSON_ARTIFACTS = ("final.json", "checkpoint.json", "manifest.json", "live.json")

# The sleeps on both sides of the append give kills before and after the side effect.
PIPELINE = "\n".join([
    "digraph Crash {",
    '  graph [goal="append one line per stage"]',
    "  start [shape=Mdiamond]",
    "  exit [shape=Msquare]",
    *(f'  {n} [shape=parallelogram, tool_command="sleep 0.01; echo {n} >> side.txt; sleep 0.02"]'
      for n in NODES),
    "  " + " -> ".join(["start", *NODES, "exit"]),
    "}",
]) + "\n"

pytestmark = pytest.mark.slow


def attractor(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "attractor_core", *(str(a) for a in args)]


@frozen
class Kill:
    process: str  # "run" or "resume"
    at: KillAt
    phase: str  # where the run was, read from its artifacts after the kill
    in_flight: str  # checkpoint.json's in_flight node ("" if none)
    torn_progress_at: int  # offset of an unterminated last progress line, or -1


@define
class Trial:
    index: int
    root: Path
    kill_plan: list[KillAt]
    kills: list[Kill] = field(factory=list)
    stale_temps_seen: int = 0
    last_rc: int | None = None

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def work(self) -> Path:
        return self.root / "work"


@define
class Reader:
    """Reads every JSON artifact of the active runs, over and over."""

    active: set[Path] = field(factory=set)
    reads: Counter[str] = field(factory=Counter)
    torn: list[str] = field(factory=list)

    def sweep(self, logs: Path) -> None:
        paths = [logs / name for name in JSON_ARTIFACTS]
        paths += logs.glob("*/status.json")
        paths += logs.glob("*/attempt-*/status.json")
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # not written yet, or archived into attempt-N between glob and read
            try:
                json.loads(data)
            except ValueError:
                self.torn.append(f"{path}: {data[:120]!r}")
            else:
                self.reads[path.name] += 1

    async def loop(self) -> None:
        while True:
            for logs in list(self.active):
                self.sweep(logs)
            await trio.sleep(READ_INTERVAL_S)


@frozen
class KillAt:
    """Kill ``delay_s`` after ``wait_for`` appears in the logs root (after spawn if "")."""

    wait_for: str
    delay_s: float


async def run_process(cmd: list[str], log: Path, logs: Path, kill: KillAt | None) -> int | None:
    """Run ``cmd`` to its end, or SIGKILL it as ``kill`` says. None if it was killed."""
    killed = False
    with log.open("ab") as out:
        proc = await trio.lowlevel.open_process(cmd, stdout=out, stderr=subprocess.STDOUT)

        async def killer() -> None:
            nonlocal killed
            if kill is None:
                await trio.sleep(RUN_TIMEOUT_S)
                proc.kill()
                raise AssertionError(f"{cmd} did not finish in {RUN_TIMEOUT_S}s; see {log}")
            while kill.wait_for and not (logs / kill.wait_for).exists():
                await trio.sleep(POLL_S)
            await trio.sleep(kill.delay_s)
            killed = True
            proc.send_signal(signal.SIGKILL)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(killer)
                rc = await proc.wait()
                nursery.cancel_scope.cancel()
        finally:
            if proc.returncode is None:
                proc.kill()
    return None if killed and rc == -signal.SIGKILL else rc


def _effective_checkpoint(logs: Path) -> dict[str, Any] | None:
    """The checkpoint a resume will see: the snapshot plus its journal."""
    try:
        cp = load_checkpoint(logs / "checkpoint.json")
    except CheckpointError:
        return None
    data: dict[str, Any] = CONVERTER.unstructure(cp)
    return data


def describe_kill(trial: Trial, process: str, at: KillAt) -> Kill:
    logs = trial.logs
    checkpoint = _effective_checkpoint(logs)
    in_flight = ""
    if (logs / "final.json").exists():
        phase = "after final.json"
    elif not (logs / "manifest.json").exists():
        phase = "before manifest.json"
    elif checkpoint is None:
        phase = "before the first checkpoint"
    elif checkpoint.get("in_flight"):
        in_flight = checkpoint["in_flight"]["node_id"]
        phase = f"{in_flight} in flight"
    else:
        phase = f"between stages (next {checkpoint.get('next_node') or 'none'})"
    return Kill(process, at, phase, in_flight, _torn_progress_offset(logs / "progress.ndjson"))


def _json_or_none(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def _torn_progress_offset(path: Path) -> int:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return -1
    if not data or data.endswith(b"\n"):
        return -1
    return data.rfind(b"\n") + 1


def next_command(trial: Trial, dot: Path) -> list[str] | None:
    """What an operator does after a crash: resume, or start over if nothing was recorded."""
    if (trial.logs / "final.json").exists():
        return None  # killed after the run had ended: nothing left to do
    if not (trial.logs / "manifest.json").exists():
        return attractor("run", dot, "--workdir", trial.work, "--logs-root", trial.logs,
                         "--run-id", f"trial-{trial.index}", "--quiet")
    return attractor("resume", "--logs-root", trial.logs, "--quiet")


async def run_trial(trial: Trial, dot: Path, reader: Reader, limiter: trio.CapacityLimiter) -> None:
    async with limiter:
        trial.work.mkdir(parents=True)
        reader.active.add(trial.logs)
        log = trial.root / "output.log"
        try:
            pending = list(trial.kill_plan)
            while (cmd := next_command(trial, dot)) is not None:
                kill = pending.pop(0) if pending else None
                rc = await run_process(cmd, log, trial.logs, kill)
                if rc is not None:
                    trial.last_rc = rc
                    break
                assert kill is not None
                trial.kills.append(describe_kill(trial, cmd[3], kill))
                trial.stale_temps_seen += len(list(trial.logs.rglob(".tmp-*")))
        finally:
            reader.active.discard(trial.logs)
            reader.sweep(trial.logs)


def check_trial(trial: Trial, expected: dict[str, Any]) -> None:
    where = f"trial {trial.index} (kills: {trial.kills}; output in {trial.root / 'output.log'})"
    final = json.loads((trial.logs / "final.json").read_text())
    outcome = {k: final[k] for k in ("status", "exit_path", "completed_nodes")}
    assert outcome == expected, where
    counts = Counter((trial.work / "side.txt").read_text().split())
    assert set(counts) == set(NODES), where
    allowed = Counter(k.in_flight for k in trial.kills if k.in_flight)
    for node in NODES:
        assert 1 <= counts[node] <= 1 + allowed[node], f"{node} ran {counts[node]}x in {where}"
    assert list(trial.logs.rglob(".tmp-*")) == [], f"stale temp files in {where}"
    check_progress(trial, where)


def check_progress(trial: Trial, where: str) -> None:
    """Every line parses except a line torn by a kill; seq strictly increases."""
    data = (trial.logs / "progress.ndjson").read_bytes()
    torn_offsets = {k.torn_progress_at for k in trial.kills if k.torn_progress_at >= 0}
    assert data.endswith(b"\n"), where
    events, offset = [], 0
    for line in data.split(b"\n")[:-1]:
        try:
            events.append(json.loads(line))
        except ValueError:
            assert offset in torn_offsets, f"unparsable progress line {line[:120]!r} in {where}"
        offset += len(line) + 1
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"seq not strictly increasing in {where}"
    if trial.last_rc is not None:  # the last process ended by itself
        assert trial.last_rc == 0, where
        assert events[-1]["event"] == "run_completed", where


def kill_schedule(rng: random.Random, startup: float, body: float) -> list[list[KillAt]]:
    """One kill plan per trial.

    Most first kills wait for a stage's directory to appear (its attempt has
    begun), then a random part of a stage's duration, cycling over the stages
    so the spread does not depend on how loaded the machine is. A few kill
    during start-up, a few the instant manifest.json appears. Every
    MULTI_KILL_EVERY-th trial also kills two of its resumes.
    """
    stages = ["start", *NODES, "exit"]
    per_stage = body / len(stages)
    schedule = []
    for i in range(TRIALS):
        if i % 14 == 0:
            first = KillAt("", startup * rng.random())
        elif i % 14 == 1:
            first = KillAt("manifest.json", 0.0)
        else:
            first = KillAt(stages[i % len(stages)], 1.5 * per_stage * rng.random())
        plan = [first]
        if i % MULTI_KILL_EVERY == MULTI_KILL_EVERY - 1:
            plan += [KillAt(rng.choice(stages), 1.5 * per_stage * rng.random()),
                     KillAt("", (startup + body) * rng.random())]
        schedule.append(plan)
    rng.shuffle(schedule)  # mix early and late kills across the concurrent slots
    return schedule


async def baseline(tmp_path: Path, dot: Path) -> tuple[dict[str, Any], float, float]:
    """The uninterrupted run's outcome, start-up time (to manifest.json) and stage time."""
    trial = Trial(-1, tmp_path / "baseline", [])
    trial.work.mkdir(parents=True)
    t0 = time.monotonic()
    manifest_seen: list[float] = []

    async def watch_manifest() -> None:
        while not (trial.logs / "manifest.json").exists():
            await trio.sleep(0.001)
        manifest_seen.append(time.monotonic())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_manifest)
        rc = await run_process(attractor("run", dot, "--workdir", trial.work, "--logs-root",
                                         trial.logs, "--quiet"),
                               trial.root / "output.log", trial.logs, None)
    t1 = time.monotonic()
    assert rc == 0, (trial.root / "output.log").read_text()
    final = json.loads((trial.logs / "final.json").read_text())
    assert final["completed_nodes"] == ["start", *NODES, "exit"]
    assert (trial.work / "side.txt").read_text().split() == list(NODES)
    outcome = {k: final[k] for k in ("status", "exit_path", "completed_nodes")}
    return outcome, manifest_seen[0] - t0, t1 - manifest_seen[0]


async def test_sigkill_at_random_moments_then_resume_matches_uninterrupted_run(
        tmp_path: Path) -> None:
    seed = int(os.environ.get("ATTRACTOR_CRASH_SEED", random.randrange(2**32)))
    print(f"crash test seed: {seed} (replay with ATTRACTOR_CRASH_SEED={seed})")
    dot = tmp_path / "crash.dot"
    dot.write_text(PIPELINE)
    expected, startup, body = await baseline(tmp_path, dot)
    schedule = kill_schedule(random.Random(seed), startup, body)
    trials = [Trial(i, tmp_path / f"trial-{i}", plan) for i, plan in enumerate(schedule)]
    reader, limiter = Reader(), trio.CapacityLimiter(CONCURRENCY)
    async with trio.open_nursery() as readers:
        readers.start_soon(reader.loop)
        async with trio.open_nursery() as nursery:
            for trial in trials:
                nursery.start_soon(run_trial, trial, dot, reader, limiter)
        readers.cancel_scope.cancel()

    kills = [k for t in trials for k in t.kills]
    phases = Counter(k.phase.split(" (")[0] for k in kills)
    print(f"seed {seed}: {len(trials)} trials, {len(kills)} kills, baseline start-up "
          f"{startup:.2f}s + stages {body:.2f}s; "
          f"phases {dict(phases)}; stale temp files seen after kills: "
          f"{sum(t.stale_temps_seen for t in trials)}; reads {dict(reader.reads)}")
    assert reader.torn == [], f"seed {seed}: torn reads: {reader.torn[:5]}"
    for trial in trials:
        check_trial(trial, expected)
    # The proof is only as good as its coverage: enough kills, across the whole run.
    assert len(kills) >= MIN_KILLS, f"seed {seed}: only {len(kills)} kills landed"
    assert len({k.in_flight for k in kills if k.in_flight}) >= len(NODES) // 2, phases
    assert reader.reads["checkpoint.json"] > 100 and reader.reads["status.json"] > 100
