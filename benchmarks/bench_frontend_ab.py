"""Parse + transform + validate of a 5,000-stage pipeline, this checkout against a baseline.

Run with ``ATTRACTOR_BENCH_BASELINE=PYTHON:CHECKOUT python -m benchmarks frontend_ab``
(as for ``engine_ab``). Each round runs, for each installation in turn, one
fresh child process that builds :func:`benchmarks.bench_frontend.linear_source`
from *this* tree and times ``parse_dot``, ``apply_transforms`` and ``validate``,
best of three in the process, in CPU time: with the kernel's plugins only (as
``bench_frontend`` and the RESULTS front-end table) and with every installed
plugin (what ``attractor validate`` does, the handlers' lint rules included).
Rounds interleave the installations. Reported: median and best CPU ms per
installation and the ratio this/baseline (goal: at most ``GOAL_RATIO``).

Environment: ``ATTRACTOR_BENCH_NODES`` (default 5000), ``ATTRACTOR_BENCH_ROUNDS``
(default 9).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks.bench_cold_start import bytecode_env
from benchmarks.bench_engine_ab import HERE, targets

GOAL_RATIO = 1.05

CHILD = """
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("bench_frontend", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
from attractor_core.dot import parse_dot
from attractor_core.plugins import make_plugin_manager
from attractor_core.transforms import apply_transforms
from attractor_core.validation import validate
source = mod.linear_source(int(sys.argv[2]))
result = {}
for mode, entry_points in (("kernel", False), ("plugins", True)):
    pm = make_plugin_manager(entry_points=entry_points)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        found = validate(apply_transforms(parse_dot(source, "linear.dot"), pm), pm)
        best = min(best, time.process_time() - start)
    assert not [d for d in found if d.severity.value == "error"], found[:3]
    result[mode] = best
print(json.dumps(result))
"""
MODES = {"kernel": "kernel only (as bench_frontend)", "plugins": "every installed plugin"}


def child_run(python: str, nodes: int, env: dict[str, str]) -> dict[str, float]:
    """Best CPU seconds per mode (kernel only, every plugin) in one fresh process."""
    with tempfile.TemporaryDirectory() as neutral:  # no checkout on sys.path
        done = subprocess.run([python, "-c", CHILD, str(HERE / "bench_frontend.py"), str(nodes)],
                              cwd=neutral, env=env, capture_output=True, text=True, check=True)
    seconds: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds


def main() -> None:
    nodes = int(os.environ.get("ATTRACTOR_BENCH_NODES", "5000"))
    rounds = int(os.environ.get("ATTRACTOR_BENCH_ROUNDS", "9"))
    chosen = targets()
    with tempfile.TemporaryDirectory(prefix="attractor-pycache-") as cache:
        env = bytecode_env(Path(cache))
        samples: dict[tuple[str, str], list[float]] = {}
        for i in range(rounds):
            for label, python in (chosen if i % 2 == 0 else chosen[::-1]):
                for mode, seconds in child_run(python, nodes, env).items():
                    samples.setdefault((mode, label), []).append(seconds * 1e3)
    print(f"\n{nodes} stages, parse + transform + validate, {rounds} interleaved rounds, CPU ms")
    print("| plugin manager | installation | median | best | per round |")
    print("|---|---|---:|---:|---|")
    for (mode, label), got in samples.items():
        print(f"| {MODES[mode]} | {label} | {statistics.median(got):.1f} | {min(got):.1f} | "
              f"{', '.join(f'{x:.0f}' for x in got)} |")
    if len(chosen) == 2:
        for mode in MODES:
            this, other = samples[(mode, chosen[0][0])], samples[(mode, chosen[1][0])]
            ratio = statistics.median(this) / statistics.median(other)
            print(f"ratio this/baseline, {MODES[mode]}: median {ratio:.2f}, best "
                  f"{min(this) / min(other):.2f} (goal <= {GOAL_RATIO})", flush=True)


if __name__ == "__main__":
    main()
