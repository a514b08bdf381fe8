"""The run directory layout: every path a run writes, in one place.

``{logs_root}/`` holds the run-level artifacts (manifest, graph copy,
checkpoint, final, progress, live, lock, processes, stop request). Stage directories live in the
*stage root*: the logs root itself, or ``restart-N/`` after N loop
restarts. Earlier attempts of a node are archived as
``{stage_root}/{node_id}/attempt-N/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from attractor_core.errors import UsageError
from attractor_core.records import Record

# Where runs go by default, relative to their workdir (and where ``attractor runs`` looks).
RUNS_DIR = Path(".attractor") / "runs"
ATTEMPT_PREFIX = "attempt-"
CHILD_DIR = "child"  # a sub-pipeline's run directory, inside its stage dir


class RunDir(Record):
    __match_args__ = __slots__ = ("root",)
    root: Path

    def __init__(self, root: Path) -> None:
        setter = object.__setattr__
        setter(self, "root", root)

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
    def stop_request(self) -> Path:
        return self.root / "stop.json"

    @property
    def detached_stdout(self) -> Path:
        """Where a run started with ``attractor run --detach`` prints (stdout)."""
        return self.root / "detached.out"

    @property
    def detached_stderr(self) -> Path:
        return self.root / "detached.err"

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


def run_places(workdir: str | Path | None, logs_root: str | Path | None,
               run_id: str) -> tuple[Path, Path]:
    """The run's workdir (default: the current directory), which must exist, and its logs
    root (default ``<workdir>/.attractor/runs/<run_id>``), both absolute."""
    work = Path(workdir or Path.cwd()).resolve()
    if not work.is_dir():
        raise UsageError(f"workdir {work} is not a directory; create it or pass another "
                         "--workdir")
    root = Path(logs_root).resolve() if logs_root else work / RUNS_DIR / run_id
    return work, root


def create_logs_root(root: Path) -> bool:
    """Create the logs root (and its parents); whether it did not exist before."""
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create logs root {root}: {exc.strerror}; choose another "
                         "--logs-root") from None
    return created


def refuse_existing_run(run_dir: RunDir) -> None:
    """A fresh run never reuses a logs root that holds one (``resume`` continues it)."""
    if run_dir.manifest.exists():
        raise UsageError(f"{run_dir.root} already holds a run; continue it with "
                         f"'attractor resume --logs-root {run_dir.root}' or choose another "
                         "--logs-root")
