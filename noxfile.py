"""Developer sessions: ``nox -s tests``, ``demo``, ``lint``, ``typecheck``, ``bench``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PACKAGES = ["-e", ".[test]", "-e", "./handlers", "-e", "./plugins"]


def install(session: nox.Session) -> None:
    session.install(*PACKAGES)


@nox.session
def tests(session: nox.Session) -> None:
    """The full test suite (what .ci/run runs)."""
    install(session)
    session.run("pytest", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Install everything and run the demo pipeline with the simulate backend."""
    install(session)
    session.run("attractor", "validate", *sorted(str(p) for p in Path("examples").glob("*.dot")))


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    install(session)
    session.install("mypy")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print the numbers recorded in benchmarks/RESULTS.md."""
    install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)
