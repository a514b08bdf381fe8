"""Cold start: wall and CPU time of short CLI commands against a bare ``python -c pass``.

Run with ``python -m benchmarks cold_start``. Each round runs, one after the
other, ``python -c pass``, ``attractor --help``, ``attractor validate
examples/demo.dot`` and ``attractor status`` (on a run of the demo made
once beforehand); the rounds interleave so that load from elsewhere on the
machine hits every command alike. Reported: the median and the best wall
time of each, the same for its CPU time (user + system of the child, far
steadier on a loaded machine), and each median as a multiple of bare
Python's (goal: under ``GOAL_RATIO``). ``ATTRACTOR_BENCH_IMPORTTIME=1`` also prints the
``python -X importtime`` table of each command.

``ATTRACTOR_BENCH_BASELINE=PYTHON:CHECKOUT`` measures a second installation
side by side in the same rounds (e.g. the main branch: its checkout and an
interpreter whose environment has it installed), so the two can be compared
under the same load. ``ATTRACTOR_BENCH_ROUNDS`` (default 15) sets the rounds.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.dot"
GOAL_RATIO = 5.0


@attrs.frozen
class Target:
    """One installation: its interpreter and the checkout it runs from."""

    label: str
    python: str
    checkout: Path

    def command(self, *args: str) -> list[str]:
        return [self.python, "-m", "attractor_core", *args]


def commands(target: Target, logs: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [target.python, "-c", "pass"],
        "attractor --help": target.command("--help"),
        "attractor validate demo.dot": target.command("validate", str(DEMO)),
        "attractor status": target.command("status", "--logs-root", str(logs)),
    }


def bytecode_env(cache: Path) -> dict[str, str]:
    """The environment with bytecode caching on, into ``cache``.

    An installed attractor starts from ``.pyc`` files; compiling every module from
    source (as under ``PYTHONDONTWRITEBYTECODE``) would triple the numbers. The
    prefix keeps the caches out of the checkouts measured.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def wall_time(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def demo_run(base: Path) -> Path:
    """A finished run of the demo, for ``status`` to read."""
    logs = base / "logs"
    subprocess.run([sys.executable, "-m", "attractor_core", "run", str(DEMO), "--backend",
                    "simulate", "--interviewer", "auto", "--workdir", str(base),
                    "--logs-root", str(logs), "--quiet"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return logs


def targets() -> list[Target]:
    found = [Target("this checkout", sys.executable, ROOT)]
    baseline = os.environ.get("ATTRACTOR_BENCH_BASELINE")
    if baseline:
        python, _, checkout = baseline.partition(":")
        found.append(Target("baseline", python, Path(checkout)))
    return found


Samples = dict[tuple[str, str], list[float]]


def measure(rounds: int, logs: Path, env: dict[str, str]) -> tuple[Samples, Samples]:
    """Wall and CPU seconds of every command of every target, rounds interleaved."""
    samples: Samples = {}
    cpu: Samples = {}
    chosen = targets()
    for target in chosen:  # warm the file cache and the bytecode caches once
        for command in commands(target, logs).values():
            wall_time(command, target.checkout, env)
    for _ in range(rounds):
        for target in chosen:
            for name, command in commands(target, logs).items():
                seconds, cpu_seconds = wall_time(command, target.checkout, env)
                samples.setdefault((target.label, name), []).append(seconds)
                cpu.setdefault((target.label, name), []).append(cpu_seconds)
    return samples, cpu


def report(samples: Samples, title: str) -> None:
    print(f"\n{title}\n")
    print(f"| target | command | median s | best s | x bare python (goal < {GOAL_RATIO:g}) |")
    print("|---|---|---:|---:|---:|")
    for (label, name), times in samples.items():
        bare = statistics.median(samples[(label, "python -c pass")])
        median = statistics.median(times)
        print(f"| {label} | `{name}` | {median:.3f} | {min(times):.3f} | {median / bare:.1f} |")


def importtime(logs: Path, env: dict[str, str]) -> None:
    for target in targets():
        for name, command in commands(target, logs).items():
            if name.startswith("python"):
                continue
            done = subprocess.run([command[0], "-X", "importtime", *command[1:]],
                                  cwd=target.checkout, env=env, capture_output=True,
                                  text=True, check=False)
            lines = [ln for ln in done.stderr.splitlines() if ln.startswith("import time:")]
            print(f"\n### {target.label}: `{name}` ({len(lines) - 1} modules)\n")
            print("\n".join(lines))


def main() -> None:
    rounds = int(os.environ.get("ATTRACTOR_BENCH_ROUNDS", "15"))
    with tempfile.TemporaryDirectory(prefix="attractor-cold-") as base:
        logs = demo_run(Path(base))
        env = bytecode_env(Path(base) / "pycache")
        wall, cpu = measure(rounds, logs, env)
        report(wall, "Wall time")
        report(cpu, "CPU time (user + system of the child)")
        if os.environ.get("ATTRACTOR_BENCH_IMPORTTIME"):
            importtime(logs, env)


if __name__ == "__main__":
    main()
