"""The runs root as the server sees it: run ids, listing, starting and stopping runs.

Runs the server starts are ordinary ``attractor run`` processes (same
directory layout, resumable, visible to ``attractor status``), children of
the server or, with ``--executor``, started by a task on a Dask worker
(:mod:`.cluster`); the server cancels them with SIGTERM, which the run turns
into a cancellation of its cancel scope (final.json ``canceled``, its process
groups stopped). Runs started from the CLI under the same root are canceled
the same way, through the pid their ``run.lock`` records.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import trio

from attractor_core.sdk import RunLock, UsageError, read_json_object, read_run_status

from .cluster import LOG_FILE, ClusterRuns, worker_of

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SOURCE_FILE = "source.dot"  # the DOT a run was started from, when posted as source
SHUTDOWN_GRACE_SECONDS = 15.0


class ApiError(Exception):
    """A request the server refuses: HTTP ``status`` and a message saying what to do."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def attractor_argv(*args: str) -> list[str]:
    """The ``attractor`` command, run with this interpreter (the same installation)."""
    return [sys.executable, "-m", "attractor_core", *args]


class RunProcess(Protocol):
    """The process of a run the server started: a ``trio.Process`` here, or a
    :class:`.cluster.RemoteRun` on a Dask worker."""

    @property
    def pid(self) -> int | None: ...
    @property
    def returncode(self) -> int | None: ...
    async def wait(self) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...


class RunsRoot:
    def __init__(self, root: Path, *, workdir: Path, allow_paths: Sequence[Path] = (),
                 cluster: ClusterRuns | None = None):
        self.root = root.resolve()
        self.workdir = workdir.resolve()
        self.allow_paths = tuple(p.resolve() for p in allow_paths)
        self.cluster = cluster  # where runs run: None for child processes of the server
        self.processes: dict[str, RunProcess] = {}
        self.launched: dict[str, float] = {}  # when the server last started each run's process

    # -- ids and paths -------------------------------------------------------------------

    def run_dir(self, run_id: str, *, must_exist: bool = True) -> Path:
        """The directory of run ``run_id``; refuses anything that is not one plain name
        directly below the runs root (``..``, separators, symlinks)."""
        if not RUN_ID.fullmatch(run_id):
            raise ApiError(404, f"no run {run_id!r}: run ids are letters, digits, '.', '_' "
                                "and '-', starting with a letter or digit")
        path = self.root / run_id
        if path.is_symlink() or path.resolve().parent != self.root:
            raise ApiError(404, f"no run {run_id!r} under the runs root")
        if must_exist and not path.is_dir():
            raise ApiError(404, f"no run {run_id!r} under {self.root}")
        return path

    def dot_path(self, given: str) -> Path:
        """A DOT file named by a request: under the runs root or an ``--allow-path``."""
        if "\x00" in given:
            raise ApiError(400, "the path contains a NUL byte")
        candidate = Path(given)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = candidate.resolve()
        allowed = (self.root, *self.allow_paths)
        if not any(resolved == a or resolved.is_relative_to(a) for a in allowed):
            raise ApiError(403, f"{given} is outside the runs root {self.root}; start the "
                                "server with --allow-path DIR to allow pipelines from DIR")
        if not resolved.is_file():
            raise ApiError(404, f"no DOT file at {given}")
        return resolved

    # -- reading runs --------------------------------------------------------------------

    def run_ids(self) -> list[str]:
        ids = []
        for entry in self.root.iterdir() if self.root.is_dir() else ():
            if RUN_ID.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink() and (
                    (entry / "manifest.json").is_file() or entry.name in self.processes
                    or (entry / LOG_FILE).is_file()):
                ids.append(entry.name)
        return sorted(ids, reverse=True)

    def summary(self, run_id: str) -> dict[str, Any]:
        path = self.run_dir(run_id)
        manifest = read_json_object(path / "manifest.json") or {}
        if not manifest:
            state = "starting" if run_id in self.processes else "refused"
            return {"id": run_id, "state": state, "started_at": None, "finished_at": None,
                    "duration_ms": None, "graph_name": "", "current_node": "",
                    "explanation": tail_text(path / LOG_FILE) if state == "refused" else ""}
        try:
            status = read_run_status(path)
        except UsageError as exc:
            return {"id": run_id, "state": "unreadable", "explanation": str(exc)}
        final = read_json_object(path / "final.json") or {}
        state = status.state
        if state == "interrupted" and run_id in self.processes:
            state = "running"  # on a worker of another host, where its pid is not seen
        return {
            "id": run_id, "state": state, "graph_name": manifest.get("graph_name", ""),
            "goal": manifest.get("goal", ""), "started_at": manifest.get("started_at"),
            "finished_at": final.get("finished_at"), "duration_ms": final.get("duration_ms"),
            "current_node": status.current_node, "attempt": status.attempt,
            "exit_path": status.exit_path, "failed_node_id": status.failed_node_id,
            "failure_reason": status.failure_reason, "explanation": status.explanation,
            "completed_nodes": list(status.completed_nodes), "owner_pid": status.owner_pid,
            "started_by_server": run_id in self.launched,  # by this server, ended or not
            "worker": worker_of(path),
        }

    async def settle(self, run_id: str, seconds: float) -> None:
        """Give a run process that has written final.json time to exit."""
        process = self.processes.get(run_id)
        if process is not None:
            with trio.move_on_after(seconds):
                await process.wait()

    def running(self, run_id: str) -> bool:
        path = self.run_dir(run_id)
        return run_id in self.processes or RunLock(path / "run.lock", run_id).owner_alive()

    # -- starting and stopping -----------------------------------------------------------

    def prepare(self, run_id: str | None) -> tuple[str, Path]:
        run_id = run_id or new_run_id()
        path = self.run_dir(run_id, must_exist=False)
        if path.exists():
            raise ApiError(409, f"run {run_id} already exists; choose another run_id")
        self.root.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        return run_id, path

    def discard(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    async def launch(self, run_id: str, argv: list[str], *,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run ``argv`` as the process of run ``run_id`` until it ends. When the server
        stops first, the run is canceled (SIGTERM) and waited for: it ends resumable."""
        path = self.run_dir(run_id)
        process: RunProcess
        if self.cluster is not None:
            process = await self.cluster.start(path, argv, self.workdir)
        else:
            with (path / LOG_FILE).open("ab") as log:
                process = await trio.lowlevel.open_process(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir,
                    start_new_session=True)
        self.processes[run_id] = process
        self.launched[run_id] = time.time()
        task_status.started()
        try:
            await process.wait()
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    with trio.move_on_after(SHUTDOWN_GRACE_SECONDS):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
            self.processes.pop(run_id, None)

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask the run's process to cancel (SIGTERM): the run's cancel scope is canceled."""
        path = self.run_dir(run_id)
        process = self.processes.get(run_id)
        if ended_since(path / "final.json", self.launched.get(run_id, 0.0)):
            raise ApiError(409, f"run {run_id} has ended; nothing to cancel")
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            return {"id": run_id, "canceling": True, "pid": process.pid}
        lock = RunLock(path / "run.lock", run_id)
        pid = lock.owner_pid() if lock.owner_alive() else None
        if not pid:
            raise ApiError(409, f"run {run_id} is not running; nothing to cancel")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            raise ApiError(409, f"run {run_id} is not running; nothing to cancel") from None
        except PermissionError:
            raise ApiError(403, f"run {run_id} belongs to another user (pid {pid}); "
                                "cancel it as that user") from None
        return {"id": run_id, "canceling": True, "pid": pid}


def run_argv(dot: Path, run_dir: Path, run_id: str, workdir: Path, *, backend: str,
             interviewer: str, overrides: Mapping[str, str]) -> list[str]:
    argv = attractor_argv("run", str(dot), "--logs-root", str(run_dir), "--run-id", run_id,
                          "--workdir", str(workdir), "--quiet", "--backend", backend,
                          "--interviewer", interviewer)
    for key, value in overrides.items():
        argv += ["--set", f"{key}={value}"]
    return argv


def resume_argv(run_dir: Path, interviewer: str) -> list[str]:
    return attractor_argv("resume", "--logs-root", str(run_dir), "--quiet",
                          "--interviewer", interviewer)


async def validate(dot: Path) -> list[dict[str, Any]]:
    """The diagnostics of ``attractor validate --json`` (the checks a run makes first)."""
    result = await trio.run_process(attractor_argv("validate", "--json", str(dot)),
                                    capture_stdout=True, capture_stderr=True, check=False)
    try:
        diagnostics = json.loads(result.stdout)
    except ValueError:
        return [{"severity": "error", "message": result.stderr.decode(errors="replace")[-2000:],
                 "file": str(dot), "line": 0, "rule": "validate"}]
    return [d for d in diagnostics if isinstance(d, dict)]


def ended_since(final: Path, since: float) -> bool:
    """Whether final.json exists and was written after ``since`` (a resume started later
    has not removed the old one yet)."""
    try:
        return final.stat().st_mtime >= since
    except FileNotFoundError:
        return False



def tail_text(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", errors="replace")
