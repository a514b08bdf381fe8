"""The run lifecycle (spec §3.1): initialise, execute, terminalise.

:class:`Engine` owns one run: its services, its state, its cancel scope.
Whatever happens inside, ``execute`` writes ``final.json`` exactly once
and then emits the terminal event as the last line of progress.ndjson.
"""

from __future__ import annotations

import traceback
from typing import Any

import trio

from attractor_core.model import Outcome
from attractor_core.runtime.atomic import write_text_atomic
from attractor_core.runtime.checkpoint import CheckpointJournal, InFlight, save_checkpoint
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.events import RunCompleted, RunFailed, RunStarted, Warning
from attractor_core.runtime.final import ExitPath, FinalRecord, write_final
from attractor_core.runtime.live import write_live
from attractor_core.runtime.rundir import RunDir

from .cancellation import is_cancellation
from .ending import Ending
from .heartbeat import run_heartbeats
from .preflight import warn_unknown_types
from .services import Lane, RunServices
from .signals import can_watch_signals, watch_signals
from .state import RunState
from .traversal import traverse
from .watchdog import run_watchdog

# A snapshot at least this often, and whenever the journal is as long as the history.
SNAPSHOT_EVERY = 256


class Engine:
    def __init__(self, services: RunServices, state: RunState, *, started_at: str,
                 handle_signals: bool = True, lane_key: str = "",
                 parent_lane: str | None = None, journal_seq: int = 0):
        self.services = services
        self.state = state
        self.started_at = started_at
        self.handle_signals = handle_signals and can_watch_signals()
        # A nested (sub-pipeline) run is a lane of its parent's liveness tree
        # and is watched by the parent's watchdog, not one of its own.
        self.lane_key = lane_key
        self.parent_lane = parent_lane
        self._cancel_scope: trio.CancelScope | None = None
        self._cancel_ending: Ending | None = None
        self._final: FinalRecord | None = None
        self._journal: CheckpointJournal | None = None
        self._journal_seq = journal_seq
        self._entries = 0
        self._last_position: tuple[str, str, InFlight | None] | None = None
        self._t0 = trio.current_time()

    # -- cancellation ----------------------------------------------------
    def cancel(self, reason: str = "canceled through the API",
               ending: Ending | None = None) -> None:
        """Stop the run: no stage starts and no edge is followed after this."""
        if self._cancel_ending is None:
            self._cancel_ending = ending or Ending.canceled(reason)
            self.services.cancel_reason = self._cancel_ending.failure_reason
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    # -- the main lane -----------------------------------------------------
    def main_lane(self) -> Lane:
        run_dir = self.services.run_dir
        return Lane(self.state, lambda: run_dir.stage_root(self.state.restart_count),
                    checkpoint=self._checkpoint, liveness_key=self.lane_key)

    def _checkpoint(self, current: str, next_node: str, in_flight: InFlight | None) -> None:
        """A journal entry per call; a full snapshot when the journal has grown as long
        as the run's history (so the total cost stays linear in the run's length)."""
        state = self.state
        self._last_position = (current, next_node, in_flight)
        limit = max(SNAPSHOT_EVERY, len(state.completed_nodes))
        if self._journal is None or state.needs_snapshot() or self._entries >= limit:
            self._snapshot()
            return
        self._journal_seq += 1
        delta = state.take_delta(current, next_node, in_flight)
        delta["seq"] = self._journal_seq
        self._journal.append(delta)
        self._entries += 1

    def _snapshot(self, *, stopped_cleanly: bool = False) -> None:
        if self._last_position is None:
            return
        current, next_node, in_flight = self._last_position
        cp = self.state.to_checkpoint(self.services.run_id, current, next_node, in_flight,
                                      journal_seq=self._journal_seq,
                                      stopped_cleanly=stopped_cleanly and in_flight is not None)
        save_checkpoint(self.services.run_dir.checkpoint, cp)
        self.state.mark_snapshot()
        if self._journal is None:
            self._journal = CheckpointJournal(self.services.run_dir.checkpoint)
        self._journal.reset()
        self._entries = 0

    # -- lifecycle -------------------------------------------------------
    async def execute(self, start: str, *, resumed: bool = False,
                      first_outcome: Outcome | None = None) -> FinalRecord:
        self._emit_started(resumed)
        warn_unknown_types(self.services)
        try:
            ending = await self._traverse_cancellable(start, first_outcome)
        except BaseException as exc:
            if is_cancellation(exc):
                # The caller cancelled us from outside: still leave a final.json.
                self._terminalize(self._cancel_ending or Ending.canceled("canceled by the caller"))
                raise
            if not isinstance(exc, Exception):
                raise
            ending = self._engine_error(exc)  # an engine bug must still end the run cleanly
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
                if self.handle_signals:
                    nursery.start_soon(watch_signals, self.cancel)
                self._start_watchdog(nursery)
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

    def _start_watchdog(self, nursery: trio.Nursery) -> None:
        s = self.services
        s.liveness.open_lane(self.lane_key, parent=self.parent_lane, scope=self._cancel_scope)
        if s.policy.stall_timeout.ms <= 0 or self.parent_lane is not None:
            return
        nursery.start_soon(run_watchdog, s.liveness, s.policy.stall_timeout,
                           s.policy.stall_check_interval, s.emit, self._stall)

    def _stall(self, reason: str) -> None:
        self.cancel(ending=Ending.failed(ExitPath.WATCHDOG_STALL, reason=reason,
                                         failure_class="transient_infra"))

    def _emit_started(self, resumed: bool) -> None:
        s = self.services
        s.emit(RunStarted(s.graph.name, s.graph.goal, str(s.dot_path or ""), str(s.run_dir.root),
                          str(s.workdir), resumed, self.state.restart_count))

    def _engine_error(self, exc: BaseException) -> Ending:
        path = self.services.run_dir.engine_crash
        write_text_atomic(path, "".join(traceback.format_exception(exc)))
        return Ending.failed(ExitPath.ENGINE_ERROR, reason=(
            f"internal error in attractor: {type(exc).__name__}: {exc} (traceback in {path}); "
            "the run can be resumed with attractor resume"), failure_class="structural")

    def _terminalize(self, ending: Ending,
                     workspace: dict[str, Any] | None = None) -> FinalRecord:
        if self._final is not None:
            return self._final
        if workspace is None:
            workspace = self.services.workspace.record() if self.services.workspace else {}
        # A complete checkpoint.json at the end; a stop on purpose is not a crash on resume.
        self._snapshot(stopped_cleanly=ending.exit_path in (ExitPath.CANCELED,
                                                            ExitPath.WATCHDOG_STALL))
        if self._journal is not None:
            self._journal.close()
        s = self.services
        record = FinalRecord(
            run_id=s.run_id, status=ending.status, exit_path=ending.exit_path,
            started_at=self.started_at, finished_at=utc_now_iso(),
            duration_ms=int((trio.current_time() - self._t0) * 1000),
            logs_root=str(s.run_dir.root), failure_reason=ending.failure_reason,
            failure_class=ending.failure_class, failure_signature=ending.failure_signature,
            failed_node_id=ending.failed_node_id, abort_reason=ending.abort_reason,
            completed_nodes=tuple(self.state.completed_nodes),
            restart_count=self.state.restart_count, workspace=workspace)
        write_final(s.run_dir.final, record)
        self._final = record
        write_live(s.run_dir.live, s.run_id, ending.status, exit_path=ending.exit_path)
        if ending.status == "success":
            s.emit(RunCompleted(ending.status, ending.exit_path, record.duration_ms,
                                len(record.completed_nodes)))
        else:
            s.emit(RunFailed(ending.status, ending.exit_path, ending.failure_reason,
                             ending.failure_class, ending.failed_node_id, record.duration_ms))
        s.bus.close()
        return record


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
