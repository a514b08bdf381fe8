"""The remote side of a sub-pipeline (``attractor_core.executors``): what an executor
runs in its worker for a :class:`~attractor_core.executors.ChildWork`.

A ``trio.run`` of its own: the enclosing run's plugins, options and policy read
back from its run directory, the child's graph from its DOT file, and the
child run's ordinary traversal (``engine.children``: afresh, or continued from
its checkpoint), writing its artifacts and events in its own run directory as a
local child does. Progress of any of its lanes touches ``executor.progress``;
it has no stall watchdog of its own (the parent's judges it). It stops when
``executor.cancel`` appears or its executor says so, and a continued child
first stops the process groups that a dead earlier run of it left running.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import attrs
import trio

from attractor_core.executors import ChildWork
from attractor_core.pipeline import load_pipeline
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.event_bus import utc_now_iso
from attractor_core.runtime.final import FinalRecord
from attractor_core.runtime.rundir import RunDir

from .children import child_plan
from .remote import STOP_POLL, RelayedLiveness, run_setup
from .run import Engine
from .setup import event_bus, run_config
from .subruns import SUBRUNS


def run_child_work(work: ChildWork,
                   should_stop: Callable[[], bool] | None = None) -> FinalRecord:
    """Run one sub-pipeline here, in a ``trio.run`` of its own (an executor's remote side).

    Returns the child's final record (also in its ``final.json``); a child stopped by
    ``executor.cancel`` or by ``should_stop()`` ends ``canceled``."""
    return trio.run(_run_remote_child, work, should_stop)


async def _run_remote_child(work: ChildWork,
                            should_stop: Callable[[], bool] | None) -> FinalRecord:
    work.progress_file.touch()  # the child reached its worker
    setup = run_setup(RunDir(Path(work.logs_root)))
    dot_path = Path(work.dot_path)
    graph = load_pipeline(dot_path, setup.pm)
    run_dir = RunDir(work.root)
    config = attrs.evolve(
        run_config(graph=graph, run_id=work.run_id, run_dir=run_dir,
                   workdir=Path(work.workdir), dot_path=dot_path, pm=setup.pm,
                   policy=setup.policy, options=setup.options, subruns=SUBRUNS),
        ancestry=tuple(Path(p) for p in work.ancestry))
    plan = child_plan(run_dir, graph, work.context, work.continuing)
    if plan.final is not None:
        return plan.final
    # The parent's lane as the child's parent: no watchdog of its own.
    engine = Engine(config, event_bus(config, None), plan.state, started_at=utc_now_iso(),
                    liveness=RelayedLiveness(progress_file=work.progress_file),
                    lane_key=work.live_key,
                    parent_lane=work.parent_live_key, journal_seq=plan.journal_seq,
                    enclosing_plugin_state=tuple(work.enclosing_plugin_state),
                    on_stop=partial(_report_stop, work))
    asked = _stop_asked(work, should_stop)
    if asked:  # stopped before it began: no stage may start
        engine.cancel(asked)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_stop, work, should_stop, engine)
        final = await engine.execute(plan.start, resumed=plan.resumed,
                                     first_outcome=plan.first)
        nursery.cancel_scope.cancel()
    return final


def _report_stop(work: ChildWork, exit_path: str, reason: str, failure_class: str,
                 resumable: bool) -> None:
    """A plugin's ``stop_run`` in the child, for the parent to stop the whole run with
    (the first one)."""
    if not work.stop_file.exists():
        write_json_atomic(work.stop_file, {"exit_path": exit_path, "reason": reason,
                                           "failure_class": failure_class,
                                           "resumable": resumable})


async def _watch_stop(work: ChildWork, should_stop: Callable[[], bool] | None,
                      engine: Engine) -> None:
    while not (asked := _stop_asked(work, should_stop)):
        await trio.sleep(STOP_POLL)
    engine.cancel(asked)


def _stop_asked(work: ChildWork, should_stop: Callable[[], bool] | None) -> str:
    """Why the child must stop (the reason in ``executor.cancel``), or ``""``."""
    try:
        reason = work.cancel_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if should_stop is not None and should_stop():
            return "its executor dropped the sub-pipeline"
        return ""
    except OSError:
        reason = ""
    return "canceled by the caller" if reason in ("", "cancel") else reason
