"""Every test runs in its own temporary directory; the suite is spread over workers cheaply.

A run whose workdir is inside a git repository works on a run branch of
that repository (docs/git.md). Tests that start ``attractor`` without
``--workdir`` use the current directory, which must therefore never be the
checkout the tests run from.

Under ``pytest -n`` (``--dist loadgroup``, set in pyproject.toml) the tests of
a module that share a module-scoped fixture (a corpus of runs, a server, a
Dask cluster) go to one worker, so the fixture is built once instead of once
per worker. Tests marked ``slow`` are handed out first, so that no long test
starts last and keeps one worker busy after the others have finished.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(definition.scope == "module"
               for definitions in info.name2fixturedefs.values() for definition in definitions)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
