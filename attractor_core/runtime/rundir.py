"""The run directory layout: every path a run writes, in one place.

``{logs_root}/`` holds the run-level artifacts (manifest, graph copy,
checkpoint, final, progress, live, lock, processes). Stage directories live in the
*stage root*: the logs root itself, or ``restart-N/`` after N loop
restarts. Earlier attempts of a node are archived as
``{stage_root}/{node_id}/attempt-N/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from attrs import frozen

ATTEMPT_PREFIX = "attempt-"
CHILD_DIR = "child"  # a sub-pipeline's run directory, inside its stage dir


@frozen
class RunDir:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def graph_copy(self) -> Path:
        return self.root / "graph.dot"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.json"

    @property
    def final(self) -> Path:
        return self.root / "final.json"

    @property
    def progress(self) -> Path:
        return self.root / "progress.ndjson"

    @property
    def live(self) -> Path:
        return self.root / "live.json"

    @property
    def lock(self) -> Path:
        return self.root / "run.lock"

    @property
    def processes(self) -> Path:
        return self.root / "processes.json"

    @property
    def engine_crash(self) -> Path:
        return self.root / "engine-crash.txt"

    def stage_root(self, restart_count: int) -> Path:
        return self.root if restart_count == 0 else self.root / f"restart-{restart_count}"

    def stage_dir(self, restart_count: int, node_id: str) -> Path:
        return self.stage_root(restart_count) / node_id


def branch_pass_dir(stage_root: Path, node_id: str, pass_number: int) -> Path:
    """The branch directories of one dispatch of a parallel node live here, as
    ``{index}-{branch_key}/``."""
    return stage_root / "parallel" / node_id / f"pass-{pass_number}"


def prepare_stage_dir(stage_dir: Path, keep: tuple[str, ...] = ()) -> None:
    """Create the stage dir, moving what an earlier attempt left into ``attempt-N/``.

    Afterwards the directory holds only archives (and the entries named in
    ``keep``, which an attempt continued after an interruption carries on),
    so any other file in it was written during the new attempt.
    """
    try:
        os.mkdir(stage_dir)
        return  # new: nothing to archive
    except FileNotFoundError:
        stage_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass
    leftovers = [p for p in stage_dir.iterdir()
                 if not p.name.startswith(ATTEMPT_PREFIX) and p.name not in keep]
    if not leftovers:
        return
    archives = sum(1 for p in stage_dir.iterdir() if p.name.startswith(ATTEMPT_PREFIX))
    archive = stage_dir / f"{ATTEMPT_PREFIX}{archives + 1}"
    archive.mkdir()
    for path in leftovers:
        os.replace(path, archive / path.name)


def base_run_root(root: Path) -> Path:
    """``restart-N/`` holds only stage dirs; the run itself lives in its parent."""
    if root.name.startswith("restart-") and (root.parent / "manifest.json").exists():
        return root.parent
    return root
