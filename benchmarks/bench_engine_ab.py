"""Engine per stage, this checkout against a baseline installation, side by side.

Run with ``ATTRACTOR_BENCH_BASELINE=PYTHON:CHECKOUT python -m benchmarks engine_ab``
(PYTHON an interpreter whose environment has the baseline installed; CHECKOUT is
only a label here). Without a baseline only this checkout is measured.

Each round runs, for each installation in turn, one fresh child process that
executes :func:`benchmarks.bench_engine.one_run` from *this* file's tree (the
same benchmark code for both) on ``/dev/shm``: a chain of N simulate stages,
pipeline load subtracted. The child reports the CPU time (user + system, of the
process) of the run itself, which a shared, loaded machine disturbs far less
than wall time. Rounds interleave the installations, so load from elsewhere
hits both alike. Each child runs twice: the first (cold) run pays the imports
that a run makes, the second (warm) is the per-stage cost alone. Reported per
installation and size: median and best CPU µs/stage, and the ratios
this/baseline.

Environment: ``ATTRACTOR_BENCH_SIZES`` (default ``1000``),
``ATTRACTOR_BENCH_ROUNDS`` (default 9), ``ATTRACTOR_BENCH_DIR`` (default
``/dev/shm``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_cold_start import bytecode_env

HERE = Path(__file__).resolve().parent

# The child loads bench_engine by path, so the installation measured is the one
# its interpreter has installed, never the checkout this file lives in.
CHILD = """
import importlib.util, json, os, sys, time
spec = importlib.util.spec_from_file_location("bench_engine", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
from pathlib import Path
for _ in range(2):  # the first run in the process pays the imports, the second does not
    wall, load = mod.one_run(Path(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps({"wall": wall - load, "cpu": mod.LAST_RUN_CPU - mod.LAST_LOAD_CPU}))
"""


def targets() -> list[tuple[str, str]]:
    found = [("this checkout", sys.executable)]
    baseline = os.environ.get("ATTRACTOR_BENCH_BASELINE")
    if baseline:
        found.append(("baseline", baseline.partition(":")[0]))
    return found


def child_run(python: str, base: Path, count: int, env: dict[str, str]) -> list[dict[str, float]]:
    """The first (cold) and the second (warm) run of one fresh process."""
    with tempfile.TemporaryDirectory() as neutral:  # no checkout on sys.path
        done = subprocess.run([python, "-c", CHILD, str(HERE / "bench_engine.py"), str(base),
                               str(count)], cwd=neutral, env=env, capture_output=True, text=True,
                              check=True)
    return [json.loads(line) for line in done.stdout.strip().splitlines()[-2:]]


def report(count: int, rounds: int, labels: list[str],
           samples: dict[tuple[str, str], list[float]]) -> None:
    print(f"\n{count} stages, {rounds} interleaved rounds, CPU µs/stage (user + system)")
    print("| installation | run | median | best | per round |")
    print("|---|---|---:|---:|---|")
    for which in ("warm", "cold"):
        for label in labels:
            got = samples[(label, which)]
            print(f"| {label} | {which} | {statistics.median(got):.0f} | {min(got):.0f} | "
                  f"{', '.join(f'{x:.0f}' for x in got)} |")
    if len(labels) == 2:
        for which in ("warm", "cold"):
            this, other = samples[(labels[0], which)], samples[(labels[1], which)]
            print(f"ratio this/baseline, {which}: median "
                  f"{statistics.median(this) / statistics.median(other):.2f}, "
                  f"best {min(this) / min(other):.2f}", flush=True)


def main() -> None:
    sizes = [int(s) for s in os.environ.get("ATTRACTOR_BENCH_SIZES", "1000").split(",")]
    rounds = int(os.environ.get("ATTRACTOR_BENCH_ROUNDS", "9"))
    base = Path(os.environ.get("ATTRACTOR_BENCH_DIR", "/dev/shm"))
    chosen = targets()
    with tempfile.TemporaryDirectory(prefix="attractor-pycache-") as cache:
        env = bytecode_env(Path(cache))
        for _, python in chosen:  # fill the bytecode caches once
            child_run(python, base, 10, env)
        for count in sizes:
            samples: dict[tuple[str, str], list[float]] = {}
            for i in range(rounds):
                for label, python in (chosen if i % 2 == 0 else chosen[::-1]):
                    cold, warm = child_run(python, base, count, env)
                    for which, got in (("cold", cold), ("warm", warm)):
                        samples.setdefault((label, which), []).append(
                            got["cpu"] * 1e6 / (count + 2))
            report(count, rounds, [label for label, _ in chosen], samples)


if __name__ == "__main__":
    main()
