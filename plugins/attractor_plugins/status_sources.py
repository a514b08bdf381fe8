"""The built-in status sources: where agents may leave a stage's status.json.

In precedence order: the canonical stage-dir file (``ATTRACTOR_STATUS_PATH``),
``{workdir}/status.json``, and ``{workdir}/.ai/runs/{run_id}/status.json``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from attrs import frozen

from attractor_core.sdk import CanonicalSource


@frozen
class WorktreeStatus:
    name: str = "worktree"
    precedence: int = 10
    canonical: bool = False

    def path(self, stage_dir: Path, workdir: Path, run_id: str) -> Path:
        return _in_workdir(workdir, "status.json")


@frozen
class AiRunStatus:
    name: str = "ai"
    precedence: int = 20
    canonical: bool = False

    def path(self, stage_dir: Path, workdir: Path, run_id: str) -> Path:
        return _in_workdir(workdir, f".ai/runs/{run_id}/status.json")


@functools.lru_cache(maxsize=64)
def _in_workdir(workdir: Path, relative: str) -> Path:
    """Asked at every stage attempt with the same workdir: joined once."""
    return workdir / relative


# The canonical source is the kernel's own (it reads it even with no plugin installed).
BUILTIN_SOURCES = (CanonicalSource(), WorktreeStatus(), AiRunStatus())
