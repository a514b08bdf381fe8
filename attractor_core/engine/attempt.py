"""One stage attempt: prepare the stage dir, run the handler under its
deadline, ingest the status, complete the failure fields, record it all."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import trio
from attrs import frozen

from attractor_core.model import Duration, Node, Outcome
from attractor_core.process_group import StageOwner, stage_processes
from attractor_core.protocols import Handler
from attractor_core.registry import UnknownHandlerError
from attractor_core.runtime.atomic import (
    artifact_write_error,
    directory_writes,
    write_text_atomic,
)
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.events import StageAttemptEnd, StageAttemptStart
from attractor_core.runtime.rundir import CHILD_DIR, prepare_stage_dir
from attractor_core.runtime.status_files import write_status_file

from .cancellation import is_cancellation
from .failure import complete_failure
from .ingestion import (
    Found,
    SourcePaths,
    clear_stale_fallbacks,
    ingest,
    inspected_paths,
    read_sources,
    source_paths,
)
from .routing import settle_custom_outcome
from .services import Lane, RunServices
from .stage_run import AttemptRun

STATUS_FILE = "status.json"


async def run_attempt(services: RunServices, lane: Lane, node: Node, attempt: int,
                      execution: int, *, continued: bool = False) -> Outcome:
    # Even if a handler swallowed a cancellation, no attempt starts after one. And in a
    # stretch of stages that never wait, signals, the watchdog and the live view still get
    # their turn (engine/yielding.py).
    await services.yielding.between_attempts()
    stage_dir = lane.stage_root() / node.id
    # An attempt continuing an interrupted one resumes the child run it had started.
    prepare_stage_dir(stage_dir, keep=(CHILD_DIR,) if continued else ())
    # The attempt's files in its stage dir (prompt, response, status.json...) are written
    # through one descriptor and made durable by one directory fsync as the attempt ends,
    # before any checkpoint can record it complete (docs/decisions.md).
    with directory_writes(stage_dir):
        return await _attempt(services, lane, node, attempt, execution, stage_dir)


async def _attempt(services: RunServices, lane: Lane, node: Node, attempt: int, execution: int,
                   stage_dir: Path) -> Outcome:
    attempt_id = f"{services.config.run_id}:{lane.branch_key or 'main'}:{node.id}:{execution}"
    run = AttemptRun(services, lane, node, stage_dir, attempt, execution, attempt_id,
                     lane.branch_key)
    services.emit(StageAttemptStart(node.id, node.handler_type, attempt, attempt_id,
                                    lane.branch_key, lane.state.node_visits.get(node.id, 0)))
    services.live.show("running", current_node=node.id, attempt=attempt,
                       branch_key=lane.branch_key)
    lane.state.context.set("current_node", node.id)
    handler = _resolve(services, node)
    # A handler whose status never comes from another process's file: the fallback status
    # files are neither cleared nor read for this attempt.
    in_process = _status_in_process(handler, node, run)
    paths = source_paths(services.config.status_sources, run, through_canonical=in_process)
    clear_stale_fallbacks(paths)
    _deliver_steering(services, lane, stage_dir)
    services.liveness.progress(lane.live_key)
    started_at, t0 = utc_now_iso(), trio.current_time()
    lane.phase = "attempt"
    try:
        owner = StageOwner(services.processes, services.config.run_id, node.id, attempt,
                           lane.branch_key)
        with services.heartbeats.beating(lane, run), stage_processes(owner):
            result = await _execute(services, lane, handler, node, run, paths)
    except BaseException as exc:
        if not is_cancellation(exc):
            raise
        reason = services.cancel_reason or "canceled"
        canceled = Outcome.fail(reason, "canceled", failed_node_id=node.id)
        with trio.CancelScope(shield=True):
            # Many attempts end at once on a cancel: their durable writes run side by side.
            await trio.to_thread.run_sync(_write_status, services, run, canceled, started_at,
                                          _ms_since(t0))
        _announce(services, lane, run, canceled, t0)
        raise
    lane.phase = "traversal"
    # From here to the attempt's end nothing waits: its events go out as one group.
    with services.bus.grouped():
        outcome = result if not isinstance(result, _Read) else ingest(
            services, result.paths, result.found, node, run, result.returned, run.started_wall)
        outcome = settle_custom_outcome(node, outcome, lane.state.context, services.config.graph)
        return _record(services, lane, run, complete_failure(services, node, outcome),
                       started_at, t0)


def _deliver_steering(services: RunServices, lane: Lane, stage_dir: Path) -> None:
    """A supervisor's instructions reach the next stage as steer.md and ``stack.steer``."""
    text = services.take_steering()
    if text:
        write_text_atomic(stage_dir / "steer.md", text)
        lane.state.context.set("stack.steer", text)


def _record(services: RunServices, lane: Lane, run: AttemptRun, outcome: Outcome,
            started_at: str, t0: float) -> Outcome:
    """Write the attempt's status.json and emit its ``stage_attempt_end``."""
    _write_status(services, run, outcome, started_at, _ms_since(t0))
    _announce(services, lane, run, outcome, t0)
    return outcome


def _write_status(services: RunServices, run: AttemptRun, outcome: Outcome, started_at: str,
                  duration_ms: int) -> None:
    """Runs in a worker thread on the cancel path: touch nothing of trio's here."""
    meta: dict[str, object] = {
        "run_id": services.config.run_id, "node_id": run.node.id, "attempt": run.attempt,
        "started_at": started_at, "finished_at": utc_now_iso(), "duration_ms": duration_ms,
    }
    if outcome.details.get("timeout"):
        meta["timeout"] = True  # a stage timeout, visible at the top level of status.json
    # A string path: pathlib's join and str cost more than the rest of building the record.
    write_status_file(os.path.join(run.stage_dir, STATUS_FILE), outcome, meta)


def _announce(services: RunServices, lane: Lane, run: AttemptRun, outcome: Outcome,
              t0: float) -> None:
    services.emit(StageAttemptEnd(run.node.id, run.attempt, run.attempt_id,
                                  outcome.name, _ms_since(t0), outcome.failure_reason,
                                  outcome.failure_class, lane.branch_key,
                                  lane.state.node_visits.get(run.node.id, 0),
                                  outcome.failed_node_id,
                                  services.config.registry.routes_outcome(run.node)))
    services.liveness.progress(lane.live_key)


def _ms_since(t0: float) -> int:
    return int((trio.current_time() - t0) * 1000)


@frozen
class _Read:
    """What the handler returned and what the status sources held: ingested after the
    attempt's deadline and process scopes."""

    returned: Outcome | None
    paths: SourcePaths
    found: list[Found]


def _resolve(services: RunServices, node: Node) -> Handler | UnknownHandlerError:
    try:
        return services.config.registry.resolve(node)
    except UnknownHandlerError as exc:
        return exc


def _status_in_process(handler: Handler | UnknownHandlerError, node: Node,
                       run: AttemptRun) -> bool:
    declared = getattr(handler, "status_in_process", None)
    return declared is not None and bool(declared(node, run))


async def _execute(services: RunServices, lane: Lane, handler: Handler | UnknownHandlerError,
                   node: Node, run: AttemptRun, paths: SourcePaths) -> Outcome | _Read:
    if isinstance(handler, UnknownHandlerError):
        return Outcome.fail(str(handler), "structural")
    deadline = services.config.policy.stage_deadline(node.timeout)
    if deadline is None:  # no cancel scope to set up and tear down at every stage
        return await _run_and_read(services, lane, handler, node, run, paths)
    # The deadline covers reading the status files too: what the stage left there is
    # part of its attempt.
    with trio.move_on_after(deadline.seconds):
        return await _run_and_read(services, lane, handler, node, run, paths)
    return _timed_out(deadline)


async def _run_and_read(services: RunServices, lane: Lane, handler: Handler, node: Node,
                        run: AttemptRun, paths: SourcePaths) -> Outcome | _Read:
    try:
        returned = await handler.execute(node, lane.state.context, services.config.graph, run)
    except Exception as exc:
        if artifact_write_error(exc) is not None:
            raise  # the run's own files cannot be written: the run fails, not the stage
        return _crashed(run.stage_dir, exc)
    paths = inspected_paths(paths, run)
    return _Read(returned, paths, await read_sources(paths, run.stage_dir, run))


def _timed_out(deadline: Duration | None) -> Outcome:
    return Outcome.fail(f"stage timeout after {deadline}", "transient_infra",
                        details={"timeout": True})


def _crashed(stage_dir: Path, exc: BaseException) -> Outcome:
    text = "".join(traceback.format_exception(exc))
    write_text_atomic(stage_dir / "crash.txt", text)
    return Outcome.fail(f"handler crashed: {type(exc).__name__}: {exc}", "deterministic",
                        details={"crash": "crash.txt"})


