"""Engine benchmark: overhead per node on long linear simulate pipelines.

Run with ``python -m benchmarks engine`` (or ``python -m benchmarks.bench_engine``).
Each case runs a chain of N codergen nodes with the simulate backend
through :func:`attractor_core.engine.run_pipeline`, in process, with
everything a real run does per stage: checkpoints before and after it,
its stage dir, prompt/response/status files, live.json and the events
in progress.ndjson. The time of loading the pipeline (parse, transform,
validate; see the front-end benchmark) is measured apart and subtracted.

The logs root is on tmpfs (``/dev/shm``: fsync costs almost nothing, so
this is the engine's own cost) and on disk (the price of durability).
Per case: the median of ``REPEATS`` runs (and the best run: on a shared
machine noise only adds time), and the growth ratio of the per-node cost
between the largest and the smallest size (1.0 = linear).

Environment: ``ATTRACTOR_BENCH_SIZES`` (default ``1000,10000``),
``ATTRACTOR_BENCH_REPEATS`` (default 7: on a shared machine a median of
fewer runs still moves with other load), ``ATTRACTOR_BENCH_DISK_DIR``
(default the system temp dir), ``ATTRACTOR_BENCH_MAX_SECONDS`` (skip the
remaining repeats of a case once one run took longer; default 120),
``ATTRACTOR_BENCH_BUDGET`` (skip a size whose run would take longer, guessed
quadratically from the previous size; default 900).
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import trio

from attractor_core.engine import run_pipeline
from attractor_core.pipeline import load_pipeline
from attractor_core.plugins import make_plugin_manager

TMPFS = Path("/dev/shm")
GOAL_US_PER_NODE = 500
# CPU seconds (user + system, this process) of the last one_run's engine run and of its
# pipeline load (which the run repeats, so the engine's own cost is the difference).
LAST_RUN_CPU = 0.0
LAST_LOAD_CPU = 0.0


def linear_pipeline(count: int) -> str:
    lines = ["digraph Linear {", '  graph [goal="benchmark the engine"]',
             "  start [shape=Mdiamond]", "  exit [shape=Msquare]"]
    lines += [f'  n{i} [prompt="step {i} of $goal"]' for i in range(count)]
    lines.append("  " + " -> ".join(["start", *(f"n{i}" for i in range(count)), "exit"]))
    return "\n".join([*lines, "}"]) + "\n"


def one_run(base: Path, count: int) -> tuple[float, float]:
    """(seconds for the whole run, seconds for loading the pipeline) of one fresh run."""
    root = Path(tempfile.mkdtemp(prefix="attractor-bench-", dir=base))
    try:
        dot = root / "linear.dot"
        dot.write_text(linear_pipeline(count), encoding="utf-8")
        pm = make_plugin_manager()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        load_pipeline(dot, pm)
        global LAST_RUN_CPU, LAST_LOAD_CPU
        LAST_LOAD_CPU = time.process_time() - cpu0
        load_s = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        record = trio.run(lambda: run_pipeline(dot, logs_root=root / "logs", workdir=root,
                                               pm=pm, handle_signals=False))
        LAST_RUN_CPU = time.process_time() - cpu0
        total_s = time.perf_counter() - t0
        if record.status != "success" or len(record.completed_nodes) != count + 2:
            raise RuntimeError(f"benchmark run did not succeed: {record}")
        return total_s, load_s
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(base: Path, count: int, repeats: int, max_seconds: float) -> dict[str, float]:
    """Median engine overhead of ``repeats`` runs (stops early if one run is too slow)."""
    engine_s: list[float] = []
    for _ in range(repeats):
        total_s, load_s = one_run(base, count)
        engine_s.append(total_s - load_s)
        if total_s > max_seconds:
            break
    median = statistics.median(engine_s)
    # The best run too: on a shared machine noise only ever adds time.
    return {"nodes": count, "runs": len(engine_s), "engine_s": median,
            "us_per_node": median * 1e6 / (count + 2),
            "best_us_per_node": min(engine_s) * 1e6 / (count + 2)}


def predicted_seconds(previous: dict[str, float], count: int) -> float:
    """A pessimistic (quadratic) guess of one run's time, to skip hour-long cases."""
    return previous["engine_s"] * (count / previous["nodes"]) ** 2


def locations() -> list[tuple[str, Path]]:
    disk = Path(os.environ.get("ATTRACTOR_BENCH_DISK_DIR", tempfile.gettempdir()))
    found = [("tmpfs", TMPFS)] if TMPFS.is_dir() else []
    return [*found, ("disk", disk)]


def main() -> None:
    sizes = [int(s) for s in os.environ.get("ATTRACTOR_BENCH_SIZES", "1000,10000").split(",")]
    repeats = int(os.environ.get("ATTRACTOR_BENCH_REPEATS", "7"))
    max_seconds = float(os.environ.get("ATTRACTOR_BENCH_MAX_SECONDS", "120"))
    print(f"{'where':<6} {'nodes':>6} {'runs':>4} {'engine':>9} {'us/node':>8} {'best':>6} "
          f"{'growth':>7}")
    budget = float(os.environ.get("ATTRACTOR_BENCH_BUDGET", "900"))
    for where, base in locations():
        rows: list[dict[str, float]] = []
        for n in sizes:
            if rows and (guess := predicted_seconds(rows[-1], n)) > budget:
                print(f"{where:<6} {n:>6} skipped: a run could take ~{guess:.0f}s (if quadratic), "
                      f"over ATTRACTOR_BENCH_BUDGET={budget:.0f}s", flush=True)
                continue
            row = measure(base, n, repeats, max_seconds)
            rows.append(row)
            growth = row["us_per_node"] / rows[0]["us_per_node"]
            print(f"{where:<6} {row['nodes']:>6.0f} {row['runs']:>4.0f} "
                  f"{row['engine_s']:>8.2f}s {row['us_per_node']:>8.0f} "
                  f"{row['best_us_per_node']:>6.0f} {growth:>6.2f}x",
                  flush=True)
    print(f"goal: under {GOAL_US_PER_NODE} us/node on tmpfs, growth ~1.0x (linear)")


if __name__ == "__main__":
    main()
