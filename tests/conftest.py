"""Every test runs in its own temporary directory.

A run whose workdir is inside a git repository works on a run branch of
that repository (docs/git.md). Tests that start ``attractor`` without
``--workdir`` use the current directory, which must therefore never be the
checkout the tests run from.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
