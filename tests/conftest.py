"""Every test runs in its own temporary directory; the suite is spread over workers cheaply.

A run whose workdir is inside a git repository works on a run branch of
that repository (docs/git.md). Tests that start ``attractor`` without
``--workdir`` use the current directory, which must therefore never be the
checkout the tests run from.

Under ``pytest -n`` (``--dist loadgroup``, set in pyproject.toml) xdist hands
the tests out a few at a time in collection order instead of in large
chunks; tests marked ``slow`` are collected first, so that no long test starts
last and keeps one worker busy after the others have finished.

Most tests start ``python -m attractor_core`` in a subprocess. When the
environment sets ``PYTHONDONTWRITEBYTECODE``, every such process would compile
the three packages from source again (a quarter of its start-up); the session
therefore compiles them once, into the usual (git-ignored) ``__pycache__``.
"""

from __future__ import annotations

import compileall
import importlib.util
import sys
from pathlib import Path

import pytest

PACKAGES = ("attractor_core", "attractor_handlers", "attractor_plugins")


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not sys.dont_write_bytecode or hasattr(session.config, "workerinput"):
        return  # Python writes the bytecode itself, or the xdist controller has done it
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                compileall.compile_dir(location, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
