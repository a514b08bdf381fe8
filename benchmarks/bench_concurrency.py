"""Concurrency and liveness costs.

1. Fan-out: one parallel node with N simulate branches (max_parallel 64),
   overhead per branch against a one-branch run.
2. Cancel latency: SIGINT to ``attractor run`` while 100 branches each run
   a ``sleep`` subprocess, measured until final.json exists.
3. Watchdog precision: a silent stage with stall_timeout T; detection time
   (from the stall_watchdog_timeout event) minus T, median and max.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from attractor_core.engine import run_pipeline


def _fanout_dot(branches: int, root: Path) -> Path:
    lines = ["digraph F {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
             "  par [shape=component, max_parallel=64]", "  join [shape=tripleoctagon]",
             "  start -> par", "  join -> exit"]
    for i in range(branches):
        lines += [f'  b{i} [prompt="branch {i}"]', f"  par -> b{i}", f"  b{i} -> join"]
    path = root / f"fanout-{branches}.dot"
    path.write_text("\n".join([*lines, "}"]) + "\n")
    return path


def _time_run(dot: Path, root: Path, name: str) -> float:
    t0 = time.perf_counter()
    trio.run(lambda: run_pipeline(dot, logs_root=root / name, workdir=root,
                                  handle_signals=False))
    return time.perf_counter() - t0


def bench_fanout(root: Path, branches: int = 1000) -> dict[str, float]:
    one = min(_time_run(_fanout_dot(1, root), root, f"one-{i}") for i in range(3))
    many = [_time_run(_fanout_dot(branches, root), root, f"many-{i}") for i in range(3)]
    best = min(many)
    return {"branches": branches, "one_branch_s": one, "fanout_s": best,
            "per_branch_ms": (best - one) / branches * 1000}


def bench_cancel_latency(root: Path, branches: int = 100, trials: int = 5) -> dict[str, float]:
    lines = ["digraph C {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
             f"  par [shape=component, max_parallel={branches}]", "  join [shape=tripleoctagon]",
             "  start -> par", "  join -> exit"]
    for i in range(branches):
        lines += [f'  s{i} [shape=parallelogram, tool_command="sleep 60"]',
                  f"  par -> s{i}", f"  s{i} -> join"]
    dot = root / "cancel.dot"
    dot.write_text("\n".join([*lines, "}"]) + "\n")
    latencies = []
    for trial in range(trials):
        logs = root / f"cancel-{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "attractor_core", "run", str(dot),
                                 "--logs-root", str(logs), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_starts(logs / "progress.ndjson", branches)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        while not (logs / "final.json").exists():
            time.sleep(0.001)
        latencies.append(time.perf_counter() - t0)
        proc.wait(timeout=60)
    return {"branches": branches, "median_ms": statistics.median(latencies) * 1000,
            "max_ms": max(latencies) * 1000}


def _wait_for_starts(progress: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if progress.exists():
            text = progress.read_text()
            if text.count('"stage_attempt_start"') >= count + 2:  # start + par + branches
                time.sleep(0.3)  # let every sleep process exist
                return
        time.sleep(0.02)
    raise RuntimeError("branches did not start")


def bench_watchdog(root: Path, trials: int = 7, stall_ms: int = 500) -> dict[str, float]:
    dot = root / "stall.dot"
    dot.write_text('digraph S { start [shape=Mdiamond]; exit [shape=Msquare]\n'
                   '  hang [shape=parallelogram, tool_command="sleep 60"]\n'
                   "  start -> hang -> exit }\n")
    errors = []
    for trial in range(trials):
        logs = root / f"stall-{trial}"
        subprocess.run([sys.executable, "-m", "attractor_core", "run", str(dot), "--logs-root",
                        str(logs), "--stall-timeout", f"{stall_ms}ms", "--quiet"],
                       capture_output=True, check=False)
        events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
        start = next(e for e in events if e["event"] == "stage_attempt_start"
                     and e["node_id"] == "hang")
        stall = next(e for e in events if e["event"] == "stall_watchdog_timeout")
        errors.append((_ts(stall["ts"]) - _ts(start["ts"])) * 1000 - stall_ms)
    return {"stall_timeout_ms": stall_ms, "median_error_ms": statistics.median(errors),
            "max_error_ms": max(errors)}


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        for name, fn in (("fan-out", bench_fanout), ("cancel latency", bench_cancel_latency),
                         ("watchdog precision", bench_watchdog)):
            result = fn(root)
            print(f"{name}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
