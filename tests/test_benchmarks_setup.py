"""``python -m benchmarks`` needs only the packages and the ``bench`` extra, never pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent

# Every benchmark module, imported with pytest made unimportable.
PROBE = """import importlib, sys
sys.modules["pytest"] = None
from benchmarks.__main__ import available
for name in available():
    importlib.import_module(f"benchmarks.bench_{name}")
print(" ".join(available()))
"""


def test_every_benchmark_imports_without_pytest():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert {"cold_start", "llm_client", "parser"} <= set(done.stdout.split())


def test_the_bench_extra_declares_what_the_parser_benchmark_compares_against():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    names = {spec.split(">")[0].split("=")[0].strip() for spec in extras["bench"]}
    assert {"lark", "pydot"} <= names
    source = (ROOT / "benchmarks" / "bench_parser.py").read_text()
    assert "import lark" in source and "import pydot" in source


def test_the_llm_accounting_benchmark_pools_its_worker_processes():
    env = {**os.environ, "ATTRACTOR_BENCH_CALLS": "4", "ATTRACTOR_BENCH_PROCESSES": "2"}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "llm_accounting"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "4 calls of each kind per protocol in 2 processes" in done.stdout
    rows = [line.split()[:2] for line in done.stdout.splitlines()
            if line.split()[1:2] in (["wall"], ["cpu"])]
    protocols = ["openai_responses", "openai_chat", "anthropic", "gemini"]
    assert rows == [[p, clock] for p in protocols for clock in ("wall", "cpu")]
