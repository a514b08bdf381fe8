"""Parallel branches on the Dask executor against the local one, side by side in one run.

Two fan-outs, each one parallel node with every branch at once (``max_parallel=0``):
1,000 ``simulate`` branches (pure engine work) and 200 ``sleep 0.5`` tool branches
(waiting). Each runs on ``local`` and on ``dask-local:2``, interleaved (local, dask,
local, dask), and the fan-out is timed from ``parallel_started`` to
``parallel_completed`` (the cluster's start is reported apart). Needs ``distributed``
(``pip install -e './plugins[dask]'``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import trio

from attractor_core.engine import run_pipeline

ROUNDS = 2


def _dot(root: Path, name: str, branches: int, node: str) -> Path:
    lines = ["digraph F {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
             "  par [shape=component, max_parallel=0]", "  join [shape=tripleoctagon]",
             "  start -> par", "  join -> exit"]
    for i in range(branches):
        lines += [f"  b{i} [{node}]", f"  par -> b{i} -> join"]
    path = root / f"{name}.dot"
    path.write_text("\n".join([*lines, "}"]) + "\n")
    return path


def _stamp(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


def _fan_out_seconds(logs: Path) -> float:
    events = [json.loads(line) for line in (logs / "progress.ndjson").read_text().splitlines()]
    started = next(e for e in events if e["event"] == "parallel_started")
    done = next(e for e in events if e["event"] == "parallel_completed")
    return _stamp(done) - _stamp(started)


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dispatch_overhead_ms(logs: Path) -> float:
    """Median, over the branches, of the time a remote branch spends outside its worker's
    traversal: from ``parallel_branch_started`` in the parent to its first event on the
    worker, plus from its last event there to ``parallel_branch_completed``."""
    parent = _events(logs / "progress.ndjson")
    started = {e["branch_key"]: _stamp(e) for e in parent
               if e["event"] == "parallel_branch_started"}
    ended = {e["branch_key"]: _stamp(e) for e in parent
             if e["event"] == "parallel_branch_completed"}
    costs = []
    for remote in (logs / "parallel").glob("*/pass-1/*/executor/progress.ndjson"):
        own = _events(remote)
        key = own[0]["branch_key"]
        costs.append((_stamp(own[0]) - started[key]) + (ended[key] - _stamp(own[-1])))
    return statistics.median(costs) * 1000


def run_on(dot: Path, logs: Path, executor: str) -> float:
    """Run ``dot`` on ``executor``: its wall time in seconds (exits unless it succeeded)."""
    t0 = time.perf_counter()
    record = trio.run(lambda: run_pipeline(dot, logs_root=logs, workdir=logs.parent,
                                           options={"executor": executor},
                                           handle_signals=False))
    wall = time.perf_counter() - t0
    if record.status != "success":
        raise SystemExit(f"{dot.name} on {executor}: {record.status} {record.failure_reason}")
    return wall


def _run(dot: Path, logs: Path, executor: str) -> tuple[float, float]:
    wall = run_on(dot, logs, executor)
    return _fan_out_seconds(logs), wall


def distributed_missing() -> bool:
    """True (and says so) when the Dask plugin's ``distributed`` is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("skipped: needs distributed (pip install -e './plugins[dask]')", file=sys.stderr)
        return True
    return False


def main() -> None:
    if distributed_missing():
        return
    root = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    cases = [("simulate-1000", _dot(root, "simulate", 1000, 'prompt="do it"'), 1000),
             ("sleep-200", _dot(root, "sleep", 200,
                                'shape=parallelogram, tool_command="sleep 0.5"'), 200)]
    print(f"{'case':<14} {'executor':<13} {'fan-out s':>9} {'ms/branch':>9} {'run s':>7} "
          f"{'dispatch ms':>11}")
    summary: dict[str, dict[str, float]] = {}
    for name, dot, branches in cases:
        for n in range(ROUNDS):
            for executor in ("local", "dask-local:2"):
                logs = root / f"{name}-{executor}-{n}"
                fan_out, wall = _run(dot, logs, executor)
                best = summary.setdefault(name, {})
                best[executor] = min(best.get(executor, fan_out), fan_out)
                dispatch = "" if executor == "local" else f"{dispatch_overhead_ms(logs):11.1f}"
                print(f"{name:<14} {executor:<13} {fan_out:9.2f} "
                      f"{fan_out / branches * 1000:9.2f} {wall:7.2f} {dispatch}", flush=True)
        local, dask = summary[name]["local"], summary[name]["dask-local:2"]
        print(f"{name}: best fan-out local {local:.2f} s, dask-local:2 {dask:.2f} s, "
              f"ratio {dask / local:.2f}, extra per branch "
              f"{(dask - local) / branches * 1000:.2f} ms", flush=True)
