"""The run lifecycle (spec §3.1): initialise, execute, terminalise.

:class:`Engine` owns one run: its services, its state, its cancel scope.
Whatever happens inside, ``execute`` writes ``final.json`` exactly once
and then emits the terminal event as the last line of progress.ndjson.
"""

from __future__ import annotations

import errno
import traceback
from collections.abc import Callable
from typing import Any

import trio

from attractor_core.model import Outcome
from attractor_core.orphan_groups import stop_left_behind
from attractor_core.process_group import kill_all_now
from attractor_core.protocols import RunWorkspace
from attractor_core.records import evolve
from attractor_core.runtime.atomic import (
    ArtifactWriteError,
    artifact_write_error,
    write_text_atomic,
)
from attractor_core.runtime.event_bus import EventBus, utc_now_iso
from attractor_core.runtime.events import (
    CancellationEscalated,
    RunCanceled,
    RunCompleted,
    RunFailed,
    RunStarted,
    StaleProcessGroupsStopped,
    Warning,
)
from attractor_core.runtime.final import (
    ExitPath,
    FanOutEnding,
    FinalRecord,
    resume_command,
    write_final,
)
from attractor_core.runtime.live import write_live
from attractor_core.runtime.process_records import read_process_records
from attractor_core.runtime.procfs import left_behind
from attractor_core.runtime.rundir import RunDir
from attractor_core.runtime.serialization import CONVERTER
from attractor_core.runtime.stop_request import stop_requested_of_me

from .cancellation import is_cancellation
from .checkpointing import Checkpointer
from .ending import Ending
from .heartbeat import run_heartbeats
from .liveness import LivenessTracker
from .preflight import warn_unknown_types
from .services import Lane, RunConfig, RunServices
from .state import RunState
from .traversal import traverse
from .watchdog import run_watchdog

# Endings that stop the stage in flight on purpose: a resume runs it again, not as a crash.
# Failures that stop the run in the middle of a stage, like a cancel: the stage in flight is
# the failed node, and a resume runs it again without counting a crash.
_STOPPED = (ExitPath.WATCHDOG_STALL, ExitPath.EXECUTOR_LOST)


class Engine:
    """Builds the run's services itself, so the plugin state (the lane's ``RunState.plugins``)
    and ``stop_run`` (this engine's :meth:`stop`) are part of them from the start. A child
    run passes its parent's services to share their liveness tracker and process records,
    to see their plugin state, and so that a plugin's ``stop_run`` in it stops the parent too;
    a child run on a worker passes the tracker that relays its progress to the parent, the
    run tree's plugin state as it was at dispatch and ``on_stop``, which reports a plugin's
    stop to the parent."""

    def __init__(self, config: RunConfig, bus: EventBus, state: RunState, *, started_at: str,
                 workspace: RunWorkspace | None = None, parent: RunServices | None = None,
                 liveness: LivenessTracker | None = None, lane_key: str = "",
                 parent_lane: str | None = None, journal_seq: int = 0,
                 enclosing_plugin_state: tuple[dict[str, Any], ...] = (),
                 on_stop: Callable[[str, str, str, bool], None] | None = None):
        shared: dict[str, Any] = {"enclosing_plugin_state": enclosing_plugin_state} \
            if parent is None else {
            "liveness": parent.liveness, "processes": parent.processes,
            "enclosing_plugin_state": (parent.plugin_state, *parent.enclosing_plugin_state),
            "running_sub_runs": parent.running_sub_runs}
        if liveness is not None:
            shared["liveness"] = liveness
        self.services = services = RunServices(
            config, bus, workspace=workspace, plugin_state=state.plugins,
            stop_run=_stopping_both(self.stop, on_stop if parent is None else parent.stop_run),
            **shared)
        self.state = state
        self.started_at = started_at
        # A nested (sub-pipeline) run is a lane of its parent's liveness tree
        # and is watched by the parent's watchdog, not one of its own.
        self.lane_key = lane_key
        self.parent_lane = parent_lane
        self._cancel_scope: trio.CancelScope | None = None
        self._cancel_ending: Ending | None = None
        self._final: FinalRecord | None = None
        self.checkpoints = Checkpointer(services.config.run_dir.checkpoint,
                                        services.config.run_id, state, journal_seq=journal_seq)
        self._t0 = trio.current_time()

    @property
    def final_record(self) -> FinalRecord | None:
        """The run's final.json once it ended (also when a cancellation from outside
        ended it, which ``execute`` re-raises)."""
        return self._final

    def stop(self, exit_path: str, reason: str, failure_class: str = "",
             resumable: bool = False) -> None:
        """End the run as a failure with a plugin's exit path, through the cancellation path."""
        self.cancel(ending=Ending.stopped(exit_path, reason, failure_class, resumable))

    # -- cancellation ----------------------------------------------------
    def cancel(self, reason: str = "canceled through the API",
               ending: Ending | None = None) -> None:
        """Stop the run: no stage starts and no edge is followed after this."""
        if self._cancel_ending is None:
            self._cancel_ending = ending or Ending.canceled(reason)
            self.services.cancel_reason = self._cancel_ending.failure_reason
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    def interrupt(self, signal_name: str) -> None:
        """The first SIGINT or SIGTERM: a cancellation, which ends as ``stopped`` when
        ``attractor stop`` sent the signal (it leaves a request for this process first)."""
        request = stop_requested_of_me(self.services.config.run_dir.stop_request)
        if request is not None:
            self.cancel(ending=Ending.stop_requested(request.reason))
        else:
            self.cancel(f"stopped by signal {signal_name}")

    def escalate(self, signal_name: str) -> None:
        """A cancellation that must not wait: SIGKILL every live process group of the run
        (its branches and sub-pipelines too) now, and cut every kill grace short."""
        if self._final is not None:
            return
        self.cancel(f"stopped by signal {signal_name}")
        killed = kill_all_now(self.services.processes)
        self.services.emit(CancellationEscalated(signal_name, len(killed)))

    # -- the main lane -----------------------------------------------------
    def main_lane(self) -> Lane:
        run_dir = self.services.config.run_dir
        return Lane(self.state, lambda: run_dir.stage_root(self.state.restart_count),
                    checkpoint=self.checkpoints.write,
                    checkpoint_with_next=self.checkpoints.write_with_next,
                    flush_checkpoint=self.checkpoints.flush, liveness_key=self.lane_key)

    # -- lifecycle -------------------------------------------------------
    async def execute(self, start: str, *, resumed: bool = False,
                      first_outcome: Outcome | None = None) -> FinalRecord:
        self._emit_started(resumed)
        warn_unknown_types(self.services)
        try:
            if resumed:
                await self._stop_left_behind()
            ending = await self._traverse_cancellable(start, first_outcome)
        except BaseException as exc:
            if is_cancellation(exc):
                # The caller cancelled us from outside: still leave a final.json.
                self._terminalize(self._cancel_ending or Ending.canceled("canceled by the caller"))
                raise
            if not isinstance(exc, Exception):
                raise
            failed_write = artifact_write_error(exc)
            # An engine bug or a full disk must still end the run cleanly.
            ending = (_write_failed(failed_write) if failed_write is not None
                      else self._engine_error(exc))
        return self._terminalize(ending, await self._finish_workspace(ending))

    async def _finish_workspace(self, ending: Ending) -> dict[str, Any]:
        """The workspace plugin's last word (final commit, diff, push), before final.json."""
        workspace = self.services.workspace
        if workspace is None:
            return {}
        with trio.CancelScope(shield=True):  # the run's ending must be recorded whole
            try:
                return await workspace.finish(status=ending.status, emit=self.services.emit)
            except Exception as exc:  # a plugin bug must not cost the run its final.json
                self.services.emit(Warning(f"the workspace plugin failed at the run's end: "
                                           f"{type(exc).__name__}: {exc}"))
        return workspace.record()

    async def _traverse_cancellable(self, start: str, first_outcome: Outcome | None) -> Ending:
        if self._cancel_ending is not None:
            return self._cancel_ending  # cancelled before it began: nothing may run
        ending: Ending | None = None
        with trio.CancelScope() as scope:
            self._cancel_scope = scope
            async with trio.open_nursery() as nursery:
                self._start_watchdog(nursery)
                self._watch_executor(nursery)
                nursery.start_soon(run_heartbeats, self.services, self.services.heartbeats)
                nursery.start_soon(self.services.live.keep_written)
                try:
                    ending = await traverse(self.services, self.main_lane(), start, first_outcome)
                finally:
                    self.services.liveness.close_lane(self.lane_key)
                nursery.cancel_scope.cancel()
        if ending is None or self._cancel_ending is not None:
            return self._cancel_ending or Ending.canceled("run canceled")
        return ending

    async def _stop_left_behind(self) -> None:
        """Stop what the run's previous owner left running before anything starts again."""
        s = self.services
        groups = left_behind(read_process_records(s.config.run_dir.processes))
        if not groups:
            return
        grace = s.config.policy.kill_grace.seconds
        with trio.CancelScope(shield=True):  # a cancel now must not leave them running
            await stop_left_behind(groups, grace, s.processes.hurry)
        s.emit(StaleProcessGroupsStopped(
            tuple(CONVERTER.unstructure(g) for g in groups), int(grace * 1000)))

    def _start_watchdog(self, nursery: trio.Nursery) -> None:
        s = self.services
        s.liveness.open_lane(self.lane_key, parent=self.parent_lane, scope=self._cancel_scope)
        if s.config.policy.stall_timeout.ms <= 0 or self.parent_lane is not None:
            return
        nursery.start_soon(run_watchdog, s.liveness, s.config.policy.stall_timeout,
                           s.config.policy.stall_check_interval, s.emit, self._stall)

    def _watch_executor(self, nursery: trio.Nursery) -> None:
        """The run's own executor, if it has one: losing it ends the run, resumably."""
        executor = self.services.config.executor
        if executor is None or self.parent_lane is not None:
            return

        async def watch() -> None:
            reason = await executor.lost()
            self.cancel(ending=Ending.failed(ExitPath.EXECUTOR_LOST,
                                             reason=f"executor lost: {reason}",
                                             failure_class="transient_infra"))

        nursery.start_soon(watch)

    def _stall(self, reason: str) -> None:
        self.cancel(ending=Ending.failed(ExitPath.WATCHDOG_STALL, reason=reason,
                                         failure_class="transient_infra"))

    def _emit_started(self, resumed: bool) -> None:
        c, s = self.services.config, self.services
        s.emit(RunStarted(c.graph.name, c.graph.goal, str(c.dot_path or ""), str(c.run_dir.root),
                          str(c.workdir), resumed, self.state.restart_count,
                          s.workspace.record() if s.workspace else {}))

    def _engine_error(self, exc: BaseException) -> Ending:
        path = self.services.config.run_dir.engine_crash
        try:
            write_text_atomic(path, "".join(traceback.format_exception(exc)))
            where = f"traceback in {path}"
        except ArtifactWriteError as failed:
            where = f"no traceback: {failed}"
        return Ending.failed(ExitPath.ENGINE_ERROR, reason=(
            f"internal error in attractor: {type(exc).__name__}: {exc} ({where}); "
            "the run can be resumed with attractor resume"), failure_class="structural")

    def _name_stage_in_flight(self, ending: Ending) -> Ending:
        """A cancel or stall stops the stage in flight: that is the failed node."""
        stopped = ending.interrupted or ending.exit_path in _STOPPED
        in_flight = self.checkpoints.in_flight
        if ending.failed_node_id or not stopped:
            return ending
        return evolve(ending, failed_node_id=in_flight.node_id) if in_flight else ending

    def _terminalize(self, ending: Ending,
                     workspace: dict[str, Any] | None = None) -> FinalRecord:
        if self._final is not None:
            return self._final
        if workspace is None:
            workspace = self.services.workspace.record() if self.services.workspace else {}
        ending = self._name_stage_in_flight(ending)
        # A complete checkpoint.json at the end; a stop on purpose is not a crash on resume.
        try:
            self.checkpoints.snapshot(stopped_cleanly=ending.interrupted or (
                ending.exit_path in _STOPPED))
        except ArtifactWriteError as exc:
            if ending.status == "success":  # a failure already says why the run ended
                ending = _write_failed(exc)
        self.checkpoints.close()
        s = self.services
        record = FinalRecord(
            run_id=s.config.run_id, status=ending.status, exit_path=ending.exit_path,
            started_at=self.started_at, finished_at=utc_now_iso(),
            duration_ms=int((trio.current_time() - self._t0) * 1000),
            logs_root=str(s.config.run_dir.root), failure_reason=ending.failure_reason,
            failure_class=ending.failure_class, failure_signature=ending.failure_signature,
            failed_node_id=ending.failed_node_id, abort_reason=ending.abort_reason,
            completed_nodes=tuple(self.state.completed_nodes),
            restart_count=self.state.restart_count, exit_node=ending.exit_node,
            fan_outs=failed_fan_outs(self.state), workspace=workspace,
            plugins=CONVERTER.unstructure(s.final_plugin_state()), resumable=ending.resumable)
        try:
            # Attempted whatever failed before: it is small, and may fit where a larger
            # file did not.
            write_final(s.config.run_dir.final, record)
            write_live(s.config.run_dir.live, s.config.run_id, ending.status,
                       exit_path=ending.exit_path)
        except ArtifactWriteError as exc:
            record = evolve(record, failure_reason=_and_final_unwritten(record, exc))
        self._final = record
        if ending.status == "success":
            s.emit(RunCompleted(ending.status, ending.exit_path, record.duration_ms,
                                len(record.completed_nodes)))
        elif ending.status == "canceled":
            s.emit(RunCanceled(ending.status, ending.exit_path, ending.failure_reason,
                               ending.failure_class, ending.failed_node_id, record.duration_ms,
                               resume_command(record.logs_root)))
        else:
            s.emit(RunFailed(ending.status, ending.exit_path, ending.failure_reason,
                             ending.failure_class, ending.failed_node_id, record.duration_ms))
        s.bus.close()
        return record


def failed_fan_outs(state: RunState) -> tuple[FanOutEnding, ...]:
    """The fan-outs of this iteration whose last pass had a failed branch, in run order."""
    return tuple(
        FanOutEnding(node_id, record.status, record.fan_out.verdict,
                     record.fan_out.failed_branches)
        for node_id, record in state.node_outcomes.items()
        if record.fan_out is not None and record.fan_out.failed_branches)


def _write_failed(exc: ArtifactWriteError) -> Ending:
    if exc.errno == errno.ENOENT:
        hint = "the run directory, or part of it, was removed while the run ran"
    else:
        hint = "free space (or fix the file system), then attractor resume"
    return Ending.failed(ExitPath.ARTIFACT_WRITE_FAILED, reason=f"{exc}; {hint}",
                         failure_class="transient_infra")


def _and_final_unwritten(record: FinalRecord, exc: ArtifactWriteError) -> str:
    return "; ".join(filter(None, [record.failure_reason, f"final.json not written: {exc}"]))


def record_setup_failure(run_dir: RunDir, run_id: str, started_at: str,
                         exc: BaseException) -> FinalRecord:
    """final.json for a run whose setup failed after its logs root existed (a plugin raised
    before the engine could start): no event stream exists yet, so there is no terminal event."""
    write_text_atomic(run_dir.engine_crash, "".join(traceback.format_exception(exc)))
    record = FinalRecord(
        run_id=run_id, status="fail", exit_path=ExitPath.ENGINE_ERROR, started_at=started_at,
        finished_at=utc_now_iso(), duration_ms=0, logs_root=str(run_dir.root),
        failure_reason=(f"run setup failed: {type(exc).__name__}: {exc} (traceback in "
                        f"{run_dir.engine_crash})"), failure_class="structural")
    write_final(run_dir.final, record)
    return record


def _stopping_both(stop: Callable[[str, str, str, bool], None],
                   stop_parent: Callable[[str, str, str, bool], None] | None
                   ) -> Callable[[str, str, str, bool], None]:
    """A run's ``stop_run``: it ends the run, and then its parent (and so on up) for a
    child run, or tells ``stop_parent`` (a remote child's report to its parent)."""
    if stop_parent is None:
        return stop

    def stop_run(exit_path: str, reason: str, failure_class: str, resumable: bool) -> None:
        stop(exit_path, reason, failure_class, resumable)
        if stop_parent is not None:
            stop_parent(exit_path, reason, failure_class, resumable)

    return stop_run
