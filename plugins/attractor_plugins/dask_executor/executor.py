"""The Dask executor: each parallel branch, and each sub-pipeline its stage only waits
for, is one Dask task.

The sync ``distributed.Client`` is used from the run's trio thread only for
non-blocking calls (``submit``, ``cancel``); a finished task wakes its branch's
trio task through a done-callback, so no thread waits per branch. The task
runs :func:`attractor_core.sdk.run_branch_work` on the worker (its own
``trio.run``), which writes the branch's artifacts under the run directory:
every worker must see that directory at the same path.

- A unit cancelled here (a run cancel, ``fail_fast``, ``first_success``, the
  stall watchdog) writes the unit's ``executor.cancel``; the worker cancels
  its traversal, which stops its process groups, and the task ends. The
  parent waits for that (at most :data:`STOP_WAIT`) before the cancellation
  goes on, then cancels the future.
- A worker that dies mid-unit raises ``WorkerLostError`` (``worker <address>
  lost``): ``dask-local`` runs its scheduler with ``allowed-failures`` 0, so
  the engine, not Dask, decides what follows (a branch is sent out again, a
  sub-pipeline's stage fails ``transient_infra`` and its retry rules apply).
- A scheduler unreachable for :data:`LOST_AFTER` seconds loses the executor:
  the run fails with exit path ``executor_lost`` and can be resumed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import dask
import distributed
import trio
from distributed import Client, Future, LocalCluster
from distributed.comm.addressing import get_address_host
from distributed.core import Status

from attractor_core.sdk import (
    BranchResult,
    BranchWork,
    ChildWork,
    FinalRecord,
    UsageError,
    WorkerLostError,
    request_stop,
    run_branch_work,
    run_child_work,
    stop_branch_orphans,
)

STOP_WAIT = 30.0  # seconds a stopped branch may take to end on its worker
LOST_AFTER = 10.0  # seconds without the scheduler before the executor is lost
# Threads of a dask-local worker: a branch's thread mostly waits for its stages.
THREADS_PER_WORKER = 128
_ADDRESS = re.compile(r"[A-Za-z0-9._-]+:\d{1,5}")
_ENDED = {Status.closing, Status.closed, Status.closing_gracefully, Status.failed}
T = TypeVar("T")


def parse_spec(spec: str) -> tuple[str | None, int]:
    """``dask://HOST:PORT`` -> (``tcp://HOST:PORT``, 0); ``dask-local:N`` -> (None, N)."""
    if spec.startswith("dask://"):
        address = spec.removeprefix("dask://")
        if _ADDRESS.fullmatch(address):
            return f"tcp://{address}", 0
    elif spec.startswith("dask-local:"):
        count = spec.removeprefix("dask-local:")
        if count.isdigit() and int(count) >= 1:
            return None, int(count)
    raise UsageError(f"--executor {spec!r}: expected dask://HOST:PORT (a running Dask "
                     "scheduler) or dask-local:N (N worker processes on this machine)")


@asynccontextmanager
async def connected(spec: str) -> AsyncIterator[DaskExecutor]:
    """The executor of ``spec``, connected; closed (a local cluster shut down) on exit."""
    async with open_client(spec) as client:
        yield DaskExecutor(spec, client)


@asynccontextmanager
async def open_client(spec: str) -> AsyncIterator[Client]:
    """A sync client of the cluster ``spec`` names (a ``dask-local`` one started here), or a
    :class:`UsageError` if its scheduler cannot be reached; closed (the local cluster shut
    down) on exit."""
    address, workers = parse_spec(spec)
    # The run reports what matters (exit 2, executor_lost); Dask's own reconnect tracebacks
    # would only bury it on stderr.
    for name in list(logging.root.manager.loggerDict):
        if name.partition(".")[0] == "distributed":  # Dask sets levels per module
            logging.getLogger(name).setLevel(logging.CRITICAL)
    cluster: LocalCluster | None = None
    if address is None:
        cluster = await trio.to_thread.run_sync(_local_cluster, workers)
        address = cluster.scheduler_address
    try:
        client = await trio.to_thread.run_sync(_client, address, spec)
    except BaseException:
        if cluster is not None:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(cluster.close)
        raise
    try:
        yield client
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(_close, client, cluster)


def _local_cluster(workers: int) -> LocalCluster:
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return LocalCluster(n_workers=workers, threads_per_worker=THREADS_PER_WORKER,
                            processes=True, dashboard_address=":0",
                            silence_logs=logging.ERROR)


def _client(address: str, spec: str) -> Client:
    try:
        # Given up after the Dask setting distributed.comm.timeouts.connect (30s).
        return Client(address, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--executor {spec}: cannot reach the Dask scheduler at {address} "
                         f"({exc}); start one with 'dask scheduler' (docs/distributed.md) or "
                         "check the address") from None


def _close(client: Client, cluster: LocalCluster | None) -> None:
    client.close(timeout=5)
    if cluster is not None:
        cluster.close(timeout=10)


class DaskExecutor:
    def __init__(self, spec: str, client: Client):
        self.spec = spec
        self.client = client

    async def run_branch(self, work: BranchWork) -> BranchResult:
        def failed(reason: str) -> BranchResult:
            return BranchResult(work.key, work.index, work.start, "fail",
                                f"the branch failed on its Dask worker: {reason}",
                                "structural", logs_root=work.branch_root)

        return await self._run(work, run_on_worker, failed, "branch")

    async def run_child(self, work: ChildWork) -> FinalRecord:
        def failed(reason: str) -> FinalRecord:
            return work.failed(f"the sub-pipeline failed on its Dask worker: {reason}",
                               "structural")

        return await self._run(work, run_child_on_worker, failed, "sub-pipeline")

    async def _run(self, work: BranchWork | ChildWork, task: Callable[..., T],
                   failed: Callable[[str], T], kind: str) -> T:
        future = self.client.submit(task, work, pure=False,
                                    key=f"attractor-{kind}-{uuid.uuid4().hex}")
        done = trio.Event()
        try:
            await _finished(future, done)
        except BaseException:
            await self._stop(work, future, done)
            raise
        return await self._outcome(work, future, failed, kind)

    async def _stop(self, work: BranchWork | ChildWork, future: Future[T],
                    done: trio.Event) -> None:
        """Ask the worker to stop the unit, and wait (bounded) until it has."""
        with trio.CancelScope(shield=True):
            request_stop(work)
            if self.client.status == "running":
                with trio.move_on_after(STOP_WAIT):
                    await done.wait()
            lost = _lost_worker(future)  # before cancel() forgets how the task ended
            future.cancel()
            # Its worker died meanwhile: nobody else stops a branch's groups (a child's
            # parent stops what its child left).
            if lost is not None and isinstance(work, BranchWork):
                await self._stop_orphans(work, lost)

    async def _outcome(self, work: BranchWork | ChildWork, future: Future[T],
                       failed: Callable[[str], T], kind: str) -> T:
        if future.status == "finished":
            result: T = future.result()
            return result
        lost = _lost_worker(future)
        if lost is not None:
            if isinstance(work, BranchWork):  # a child's parent stops what it left itself
                await self._stop_orphans(work, lost)
            raise WorkerLostError(f"worker {lost} lost")
        exc = future.exception() if future.status == "error" else None
        if exc is not None and not isinstance(exc, OSError) and self.client.status == "running":
            return failed(f"{type(exc).__name__}: {exc}")
        # The connection failed or the scheduler dropped the task: if the scheduler is
        # gone, lost() ends the run before this wait does.
        await trio.sleep(LOST_AFTER * 2)
        raise WorkerLostError(f"the Dask scheduler dropped the {kind} ({future.status})")

    async def _stop_orphans(self, work: BranchWork, address: str) -> None:
        """Stop the process groups the dead worker at ``address`` left running for ``work``
        (its tool commands and agents have process groups of their own and outlive it),
        before the branch goes out again or the run ends: from here when the worker ran on
        this host, else from a surviving worker of its host (if there is none, they are
        left to a supervisor that kills the worker's cgroup)."""
        with trio.CancelScope(shield=True), trio.move_on_after(STOP_WAIT):
            if await trio.to_thread.run_sync(stop_branch_orphans, work):
                return
            try:
                host = get_address_host(address)
            except ValueError:  # Dask did not say which worker it was
                return
            workers = (await trio.to_thread.run_sync(self.client.scheduler_info))["workers"]
            survivors = [a for a, info in workers.items()
                         if info.get("host") == host and a != address]
            if survivors and self.client.status == "running":
                future = self.client.submit(stop_branch_orphans, work, workers=survivors,
                                            allow_other_workers=False, pure=False,
                                            key=f"attractor-orphans-{uuid.uuid4().hex}")
                await _finished(future)

    async def lost(self) -> str:
        away = 0.0
        while away < LOST_AFTER:
            await trio.sleep(0.5)
            away = 0.0 if self.client.status == "running" else away + 0.5
        return f"the Dask scheduler of {self.spec} unreachable for {LOST_AFTER:g}s"


async def _finished(future: Future[Any], done: trio.Event | None = None) -> None:
    """Until ``future`` is done (``done`` is set then too), woken by its done-callback: no
    thread waits."""
    event = trio.Event() if done is None else done
    token = trio.lowlevel.current_trio_token()

    def wake(_: Future[Any]) -> None:
        with contextlib.suppress(trio.RunFinishedError):  # the run is over: nobody waits
            token.run_sync_soon(event.set)

    future.add_done_callback(wake)
    await event.wait()


def _lost_worker(future: Future[Any]) -> str | None:
    """The address of the worker whose death failed ``future``, if that is how it ended."""
    if future.status != "error":
        return None
    exc = future.exception()
    if not isinstance(exc, distributed.KilledWorker):
        return None
    return str(getattr(getattr(exc, "last_worker", None), "address", "?"))


def run_on_worker(work: BranchWork) -> BranchResult:
    """The task: the branch's traversal on this worker, stopped if Dask drops the task."""
    return run_branch_work(work, _dropped())


def run_child_on_worker(work: ChildWork) -> FinalRecord:
    """The task: the sub-pipeline's run on this worker, stopped if Dask drops the task."""
    return run_child_work(work, _dropped())


def _dropped() -> Callable[[], bool]:
    """Whether Dask dropped the task this thread runs (cancelled, or the worker ending)."""
    worker = distributed.get_worker()
    key = worker.get_current_task()

    def dropped() -> bool:
        task = worker.state.tasks.get(key)
        return task is None or task.state == "cancelled" or worker.status in _ENDED

    return dropped
