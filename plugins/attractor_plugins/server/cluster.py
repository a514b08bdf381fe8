"""Whole runs on a Dask cluster: ``attractor serve --executor dask://HOST:PORT | dask-local:N``.

Each run the server starts (or resumes) is one Dask task. The task starts the
ordinary ``attractor run`` (or ``resume``) command on its worker, in a session
of its own, writing under the run directory on the storage every worker and
the server share; the server streams, lists and answers its gates from those
files as for a local run. The server and the task talk through two files of
the run directory, each naming the launch they belong to:

``serve.worker.json``
    written by the task: the worker's address, host and pid, and the pid of
    the run's process. A task that finds its own launch there is a second
    dispatch of it (Dask retried the task after its worker died) and starts
    nothing.
``serve.cancel``
    written by the server to cancel: the task sends the run SIGTERM, which
    the run turns into a cancellation of its cancel scope (final.json
    ``canceled``, its process groups stopped); a second request escalates.

The run's process gets SIGTERM when its worker dies (Linux ``PR_SET_PDEATHSIG``),
so a lost worker leaves no run behind: the run cancels itself, resumable, and
the server, which did not ask for that cancel, records it as what it was: its
``final.json`` becomes ``fail`` with exit path ``executor_lost``. When no
``final.json`` appears (the run died with its machine), the server writes one
itself, the same way.

Nothing here imports ``distributed`` at module level: the worker imports this
module to run :func:`run_on_worker`, the server only when ``--executor`` is
given.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from attractor_core.sdk import (
    CONVERTER,
    FinalRecord,
    UsageError,
    read_final,
    read_json_object,
    utc_now_iso,
    write_json_atomic,
)

LOCAL = "local"
WORKER_FILE = "serve.worker.json"
CANCEL_FILE = "serve.cancel"
LOG_FILE = "serve.log"  # stdout and stderr of the run process (as for a local run)
POLL_SECONDS = 0.1  # how often the task looks at its run and at serve.cancel
LOST_AFTER = 10.0  # seconds without the scheduler before the server counts its runs lost
# How long the server waits for the run of a lost worker to write its own final.json
# (it cancels itself on SIGTERM) before writing one, when it cannot see the run's process.
LOST_GRACE = 60.0
_PR_SET_PDEATHSIG = 1
CANCELED = 3  # the exit code of a canceled run


def check_spec(spec: str) -> str:
    """``local`` or a Dask executor spec; a :class:`UsageError` for anything else."""
    if spec != LOCAL:
        try:
            from attractor_plugins.dask_executor.executor import parse_spec
        except ImportError as exc:
            raise UsageError(f"--executor {spec}: running runs on a Dask cluster needs the "
                             f"'distributed' package ({exc}); install it with pip install "
                             "'attractor-plugins[dask]'") from None
        parse_spec(spec)
    return spec


# -- the worker's side ------------------------------------------------------------------

def run_on_worker(launch: str, argv: list[str], cwd: str, run_dir: str) -> int | None:
    """The Dask task of one launch: run ``argv`` here until it ends; its exit code, or None
    when this is a second dispatch of a launch whose first worker died."""
    import distributed

    worker = distributed.get_worker()
    key = worker.get_current_task()
    root = Path(run_dir)
    record = read_json_object(root / WORKER_FILE) or {}
    if record.get("launch") == launch:
        return None
    where = {"launch": launch, "worker": worker.address, "host": socket.gethostname(),
             "worker_pid": os.getpid()}
    write_json_atomic(root / WORKER_FILE, where)
    if cancel_requests(root / CANCEL_FILE, launch):
        log(root, "canceled before it started; nothing ran")
        return CANCELED
    with (root / LOG_FILE).open("ab") as output:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                 cwd=cwd, start_new_session=True,
                                 preexec_fn=_die_with_parent())
    write_json_atomic(root / WORKER_FILE, {**where, "pid": child.pid})
    asked = 0
    while child.poll() is None:
        task = worker.state.tasks.get(key)
        dropped = task is None or task.state == "cancelled" or worker.status.name in (
            "closing", "closed", "closing_gracefully", "failed")
        wanted = max(cancel_requests(root / CANCEL_FILE, launch), 2 if dropped else 0)
        if wanted > asked:  # the first SIGTERM cancels the run, a second one escalates
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
            asked += 1
        time.sleep(POLL_SECONDS)
    return child.returncode


def worker_of(run_dir: Path) -> str | None:
    """The address of the Dask worker that ran the run's latest launch, if one did."""
    worker = (read_json_object(run_dir / WORKER_FILE) or {}).get("worker")
    return worker if isinstance(worker, str) else None


def cancel_requests(path: Path, launch: str) -> int:
    """How many cancels the server has asked of ``launch``."""
    record = read_json_object(path) or {}
    return int(record.get("requests", 0)) if record.get("launch") == launch else 0


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function giving the child SIGTERM when the thread that started it (the
    worker's task thread) dies with its worker process; None where Linux's prctl is missing."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the worker died before the signal was armed
            os._exit(1)

    return preexec


# -- the server's side ------------------------------------------------------------------

class RemoteRun:
    """The run process of one launch, running on a worker; used like a ``trio.Process``."""

    def __init__(self, client: Any, run_dir: Path, launch: str, launched_at: float):
        self.client = client
        self.run_dir = run_dir
        self.launch = launch
        self.launched_at = launched_at
        self.returncode: int | None = None
        self.future: Any = None
        self.ended = trio.Event()
        self._requests = 0

    @property
    def pid(self) -> int | None:
        """The run's pid on its worker (once the task has started it)."""
        record = read_json_object(self.run_dir / WORKER_FILE) or {}
        pid = record.get("pid") if record.get("launch") == self.launch else None
        return pid if isinstance(pid, int) else None

    def send_signal(self, sig: int) -> None:
        """Any signal asks the task to cancel the run (again: escalate)."""
        self._requests += 1
        write_json_atomic(self.run_dir / CANCEL_FILE,
                          {"launch": self.launch, "requests": self._requests,
                           "signal": int(sig), "requested_at": utc_now_iso()})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        self.future.cancel()

    async def wait(self) -> int:
        if self.returncode is None:
            away = 0.0
            while not self.ended.is_set() and away < LOST_AFTER:
                with trio.move_on_after(0.5):
                    await self.ended.wait()
                away = 0.0 if self.client.status == "running" else away + 0.5
            code = self.future.result() if self.future.status == "finished" else None
            if code is None:
                code = await self._lost(self._loss_reason())
            self.returncode = code
        return self.returncode

    def _loss_reason(self) -> str:
        exc = self.future.exception() if self.future.status == "error" else None
        worker = getattr(getattr(exc, "last_worker", None), "address", None) or \
            (read_json_object(self.run_dir / WORKER_FILE) or {}).get("worker", "?")
        if self.client.status != "running":
            return f"the Dask scheduler unreachable for {LOST_AFTER:g}s"
        return f"worker {worker} lost"

    async def _lost(self, reason: str) -> int:
        """The task ended without the run's exit code: wait for the run's own final.json
        (it cancels itself when its worker dies), else write one (``executor_lost``)."""
        log(self.run_dir, f"the run's executor was lost: {reason}")
        deadline = trio.current_time() + LOST_GRACE
        while not self._final_written():
            running = self._running_here()
            if running is False or (running is None and trio.current_time() >= deadline):
                break
            await trio.sleep(POLL_SECONDS)
        final = read_final(self.run_dir / "final.json")
        if self._final_written() and final is not None:
            if final.status == "canceled" and self._requests == 0:
                return self._record_loss(final, reason)
            return final.exit_code
        if read_json_object(self.run_dir / "manifest.json"):
            write_lost_final(self.run_dir, reason)
        return 1

    def _record_loss(self, final: FinalRecord, reason: str) -> int:
        """The run canceled itself because its worker died (nobody asked it to stop): its
        final.json says so, as ``executor_lost``, keeping everything else the run wrote."""
        record = CONVERTER.unstructure(final)
        record.update(_LOST, failure_reason=f"{reason}; the run stopped itself on losing its "
                                            f"worker ({final.failure_reason})")
        write_json_atomic(self.run_dir / "final.json", record)
        log(self.run_dir, "final.json rewritten: the run's cancellation was its worker's loss")
        return 1

    def _final_written(self) -> bool:
        try:
            return (self.run_dir / "final.json").stat().st_mtime >= self.launched_at
        except FileNotFoundError:
            return False

    def _running_here(self) -> bool | None:
        """Whether the run's process is alive, when it runs on this host; None when it ran
        elsewhere (only its final.json or the grace period tells)."""
        record = read_json_object(self.run_dir / WORKER_FILE) or {}
        if record.get("launch") != self.launch:
            return False  # the task never started the run
        if record.get("host") != socket.gethostname():
            return None
        pid = record.get("pid")
        if not isinstance(pid, int):
            return False
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"


class ClusterRuns:
    """Starts launches as Dask tasks on one cluster."""

    def __init__(self, client: Any):
        self.client = client

    async def start(self, run_dir: Path, argv: list[str], cwd: Path) -> RemoteRun:
        launch = uuid.uuid4().hex
        run = RemoteRun(self.client, run_dir, launch, time.time())
        token = trio.lowlevel.current_trio_token()

        def wake(_: Any) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(run.ended.set)

        run.future = self.client.submit(run_on_worker, launch, argv, str(cwd), str(run_dir),
                                        pure=False, key=f"attractor-run-{launch}")
        run.future.add_done_callback(wake)
        return run


@asynccontextmanager
async def open_cluster(spec: str) -> AsyncIterator[ClusterRuns | None]:
    """The cluster of ``--executor spec`` (None for ``local``), connected for the server's
    life; a :class:`UsageError` when its scheduler cannot be reached."""
    if spec == LOCAL:
        yield None
        return
    from attractor_plugins.dask_executor.executor import open_client

    async with open_client(spec) as client:
        yield ClusterRuns(client)


# How final.json records a run whose worker was lost: a failure, transient, resumable.
_LOST: dict[str, Any] = {"status": "fail", "exit_path": "executor_lost",
                         "failure_class": "transient_infra", "resumable": True}


def write_lost_final(run_dir: Path, reason: str) -> None:
    """final.json of a run whose worker was lost before the run could write it."""
    manifest = read_json_object(run_dir / "manifest.json") or {}
    checkpoint = read_json_object(run_dir / "checkpoint.json") or {}
    started = str(manifest.get("started_at", ""))
    record = FinalRecord(
        run_id=str(manifest.get("run_id", run_dir.name)), started_at=started,
        finished_at=utc_now_iso(), duration_ms=_ms_since(started), logs_root=str(run_dir),
        failure_reason=reason, completed_nodes=checkpoint.get("completed_nodes", ()), **_LOST)
    write_json_atomic(run_dir / "final.json", CONVERTER.unstructure(record))


def _ms_since(iso: str) -> int:
    from datetime import UTC, datetime

    try:
        started = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return 0
    return max(0, int((datetime.now(UTC) - started).total_seconds() * 1000))


def log(run_dir: Path, line: str) -> None:
    with contextlib.suppress(OSError), (run_dir / LOG_FILE).open("a", encoding="utf-8") as fh:
        fh.write(f"attractor serve: {line}\n")

