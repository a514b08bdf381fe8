"""The parent side of a sub-pipeline on an executor other than ``local``
(``attractor_core.executors``).

A child that its stage only waits for (``open_child(..., steered=False)``) runs on
the run's executor; the parent keeps what a local child has: a lane in the
run's liveness tree (the stall watchdog judges the child by the mtime of its
``executor.progress``), the child's events in the parent's stream as
``child_run_event`` (the new lines of the child's ``progress.ndjson``), and a
cancellation that stops the remote child and its process groups. A child
whose worker died ends ``fail``, class ``transient_infra``, with the
executor's reason (``worker <address> lost``), so the stage's retry rules
apply; the process groups it left running are stopped first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import trio

from attractor_core.errors import UsageError
from attractor_core.executors import ChildWork, Executor, WorkerLostError, request_stop
from attractor_core.orphan_groups import stop_left_behind, stop_strays
from attractor_core.records import evolve
from attractor_core.runtime.atomic import read_json_object
from attractor_core.runtime.checkpoint import CheckpointError
from attractor_core.runtime.events import ChildRunEvent
from attractor_core.runtime.final import ExitPath, FinalRecord, read_final, write_final
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.process_records import read_process_records
from attractor_core.runtime.procfs import left_behind

from .children import child_lane_key, prepare_child, supervise_child
from .continuation import read_checkpoint
from .dispatch import progress_poll, relay_progress
from .services import Lane, RunServices


class RemoteChildHandle:
    """A sub-pipeline running on the run's executor, as its stage sees it: ``run_id``,
    ``final``, ``await wait()`` and ``cancel(reason)`` (no live telemetry or steering)."""

    def __init__(self, work: ChildWork):
        self.work = work
        self.final: FinalRecord | None = None
        self._done = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._forwarded = _size(work.root / "progress.ndjson")  # events of earlier attempts

    @property
    def run_id(self) -> str:
        return self.work.run_id

    def telemetry(self) -> dict[str, Any]:
        """Status and outcome only: the child's state is in another process."""
        final = self.final
        status = "running" if final is None else {
            "success": "completed", "fail": "failed"}.get(final.status, final.status)
        return {"status": status, "outcome": final.status if final else "",
                "failure_reason": final.failure_reason if final else ""}

    def cancel(self, reason: str = "stopped by its supervisor") -> None:
        request_stop(self.work, reason)
        if self._scope is not None:
            self._scope.cancel()

    async def wait(self) -> FinalRecord:
        await self._done.wait()
        assert self.final is not None
        return self.final

    async def _run(self, services: RunServices, executor: Executor) -> None:
        work = self.work
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                services.liveness.open_lane(work.live_key, parent=work.parent_live_key,
                                            scope=scope)
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(relay_progress, work.progress_file,
                                           services.liveness, work.live_key,
                                           progress_poll(services))
                        nursery.start_soon(self._keep_forwarding, services)
                        try:
                            self.final = await executor.run_child(work)
                        except WorkerLostError as exc:
                            self.final = await self._lost(services, str(exc))
                        nursery.cancel_scope.cancel()
                finally:
                    stalled = services.liveness.stalled_reason(work.live_key)
                    services.liveness.close_lane(work.live_key)
                    self._forward(services)  # what the child wrote since the last look
                    self._pass_on_stop(services)
            if scope.cancelled_caught:  # the stall watchdog, or cancel(): it was stopped
                self.final = self._stopped(stalled)
        finally:
            self._done.set()

    def _pass_on_stop(self, services: RunServices) -> None:
        """A plugin's stop in the child (``executor.stop``) stops the whole run, as a local
        child's does."""
        stop = read_json_object(self.work.stop_file)
        if stop is not None and services.stop_run is not None:
            services.stop_run(str(stop.get("exit_path", "")), str(stop.get("reason", "")),
                              str(stop.get("failure_class", "")), bool(stop.get("resumable")))

    def _stopped(self, stalled: str) -> FinalRecord:
        final = read_final(self.work.root / "final.json") or self.work.failed(
            "sub-pipeline canceled", "canceled", ExitPath.CANCELED)
        if stalled:
            return evolve(final, status="fail", failure_reason=stalled,
                          failure_class="transient_infra")
        return final

    async def _lost(self, services: RunServices, reason: str) -> FinalRecord:
        """The worker died: stop what it left running, and record the child's end."""
        work = self.work
        ended = read_final(work.root / "final.json")
        if ended is not None:  # it died after the child recorded its end
            return ended
        groups = left_behind(read_process_records(work.root / "processes.json"))
        grace = services.config.policy.kill_grace.seconds
        with trio.CancelScope(shield=True):
            if groups:
                await stop_left_behind(groups, grace, services.processes.hurry)
            await stop_strays(work.root, grace, services.processes.hurry)
        final = work.failed(reason, "transient_infra", ExitPath.EXECUTOR_LOST,
                            _completed(work.root / "checkpoint.json"))
        with contextlib.suppress(UsageError):  # the manifest says when the child started
            final = evolve(final, started_at=read_manifest(
                work.root / "manifest.json").started_at)
        write_final(work.root / "final.json", final)
        return final

    async def _keep_forwarding(self, services: RunServices) -> None:
        poll = progress_poll(services)
        while True:
            await trio.sleep(poll)
            self._forward(services)

    def _forward(self, services: RunServices) -> None:
        """The complete lines the child added to its progress.ndjson, as child_run_event."""
        try:
            with open(self.work.root / "progress.ndjson", "rb") as stream:
                stream.seek(self._forwarded)
                data = stream.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self._forwarded += end
        for line in data[:end].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                services.emit(ChildRunEvent(self.work.node_id, self.work.run_id, event))

    def _ended(self, final: FinalRecord) -> None:
        self.final = final
        self._done.set()


@asynccontextmanager
async def open_remote_child(services: RunServices, executor: Executor, lane: Lane, *,
                            node_id: str, stage_dir: Path, dot_path: Path,
                            context: Mapping[str, Any] | None = None,
                            workdir: Path | None = None) -> AsyncIterator[RemoteChildHandle]:
    """Start the child run on ``executor``; on exit, stop it if it is still running and
    wait for it. Raises ``ParseError`` or ``ValidationError`` if the child graph is invalid.
    """
    child = prepare_child(services, lane, node_id=node_id, stage_dir=stage_dir,
                          dot_path=dot_path, workdir=workdir)
    work = ChildWork(
        logs_root=str(services.config.run_dir.root), node_id=node_id, run_id=child.run_id,
        child_root=str(child.run_dir.root), dot_path=str(dot_path),
        workdir=str(child.workdir), ancestry=tuple(str(p) for p in child.ancestry),
        live_key=child_lane_key(lane, node_id), parent_live_key=lane.live_key,
        continuing=child.continuing, context=dict(context) if context is not None else None,
        enclosing_plugin_state=services.plugin_state_snapshot())
    work.cancel_file.unlink(missing_ok=True)  # a stop asked of an earlier run of the child
    work.stop_file.unlink(missing_ok=True)  # and one its plugins asked in an earlier run
    handle = RemoteChildHandle(work)
    ended = read_final(child.run_dir.final) if child.continuing else None
    if ended is not None and ended.can_resume:
        ended = None  # continued on its worker
    async with supervise_child(services, child.run_dir, handle, ended,
                               partial(handle._run, services, executor), lambda: handle.final):
        yield handle


def _completed(checkpoint: Path) -> tuple[str, ...]:
    try:
        recorded = read_checkpoint(checkpoint)
    except CheckpointError:
        return ()
    return tuple(recorded.completed_nodes) if recorded is not None else ()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
