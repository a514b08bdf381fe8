"""Developer sessions: ``nox -s tests``, ``demo``, ``lint``, ``typecheck``, ``bench``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

# The plugins' extras: tests/server drives `attractor serve` over HTTP and in a browser;
# tests/executors run branches on a real Dask LocalCluster.
PACKAGES = ["-e", ".[test]", "-e", "./handlers", "-e", "./plugins[server,dask]"]


def install(session: nox.Session) -> None:
    session.install(*PACKAGES)


@nox.session
def tests(session: nox.Session) -> None:
    """The full test suite (what .ci/run runs), spread over every core."""
    install(session)
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Install everything and run examples/demo.dot end to end (simulate backend, no API key)."""
    install(session)
    examples = sorted(str(p) for p in Path("examples").glob("*.dot"))
    session.run("attractor", "validate", *examples)
    # A fresh workdir per run: the demo's tools write files there, its logs go below it.
    workdir = Path(tempfile.mkdtemp(prefix="attractor-demo-"))
    logs = workdir / "logs"
    session.run("attractor", "run", str(Path("examples/demo.dot").resolve()),
                "--backend", "simulate", "--interviewer", "auto",
                "--workdir", str(workdir), "--logs-root", str(logs))
    session.run("attractor", "status", "--logs-root", str(logs))
    session.log(f"workdir: {workdir} (logs: {logs}; events: {logs / 'progress.ndjson'})")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """``mypy --strict`` over all three packages (``[tool.mypy] files`` in pyproject.toml)."""
    install(session)
    session.install("mypy")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print the numbers recorded in benchmarks/RESULTS.md."""
    session.install("-e", ".[bench]", "-e", "./handlers", "-e", "./plugins[server,dask]")
    session.run("python", "-m", "benchmarks", *session.posargs)
