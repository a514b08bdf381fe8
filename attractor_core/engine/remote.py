"""The remote side of a parallel branch (``attractor_core.executors``): what an executor
runs in its worker.

A ``trio.run`` of its own: the run's graph, options and policy read back from
its run directory, the ordinary branch traversal, with the branch's events,
process records and live view in ``{branch}/executor/``. It stops when
``executor.cancel`` appears or its executor says so, and first stops process
groups that a dead earlier dispatch of the branch left running. With a
workspace plugin that serves remote branches it attaches to the run's
workspace (``attractor_branch_workspace``) and opens the branch's own there.
:func:`stop_branch_orphans` is what an executor runs on the host of a worker
that died, for each branch that worker was running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import trio
from attrs import define, frozen

from attractor_core.errors import UsageError
from attractor_core.executors import REMOTE_DIR, BranchWork
from attractor_core.model import Graph
from attractor_core.model.branch import BranchResult
from attractor_core.orphan_groups import stop_left_behind, stop_strays
from attractor_core.pipeline import load_pipeline
from attractor_core.plugins import collect_in_registration_order, make_plugin_manager
from attractor_core.policy import RunPolicy
from attractor_core.protocols import RunWorkspace
from attractor_core.runtime.event_bus import EventBus
from attractor_core.runtime.live import LiveView
from attractor_core.runtime.manifest import Manifest, read_manifest
from attractor_core.runtime.process_records import (
    PROCESSES_FILE,
    ProcessRecords,
    read_process_records,
    this_host,
)
from attractor_core.runtime.procfs import left_behind
from attractor_core.runtime.rundir import RunDir

from .api import resolve_policy
from .branches import run_branch_work_here
from .heartbeat import run_heartbeats
from .liveness import LivenessTracker
from .resume import run_options
from .services import RunServices
from .setup import last_seq, run_config
from .subruns import SUBRUNS

# The remote side touches executor.progress at most this often (seconds).
PROGRESS_EVERY = 0.1
# How often the remote side looks for executor.cancel (seconds).
STOP_POLL = 0.1


@define
class RelayedLiveness(LivenessTracker):
    """The remote side's tracker: progress of any lane also touches the progress file."""

    progress_file: Path | None = None
    _touched: float = -1.0

    def progress(self, key: str) -> None:
        super().progress(key)
        now = self.clock()
        if self.progress_file is not None and now - self._touched >= PROGRESS_EVERY:
            self._touched = now
            self.progress_file.touch()


def run_branch_work(work: BranchWork,
                    should_stop: Callable[[], bool] | None = None) -> BranchResult:
    """Run one branch here, in a ``trio.run`` of its own (an executor's remote side).

    Returns the branch's result; a branch stopped by ``executor.cancel`` or by
    ``should_stop()`` (polled a few times a second) returns ``canceled``."""
    return trio.run(_run_remote, work, should_stop)


async def _run_remote(work: BranchWork, should_stop: Callable[[], bool] | None) -> BranchResult:
    try:
        workspace = await _attach_workspace(work)
    except Exception as exc:
        return BranchResult(work.key, work.index, work.start, "fail",
                            f"cannot prepare the branch's workspace: {exc}", "transient_infra",
                            logs_root=str(work.root))
    stop: dict[str, Any] = {}
    scope = trio.CancelScope()
    services = _remote_services(work, workspace, _stop_recorder(stop, scope))
    await _stop_left_behind(services)
    result: BranchResult | None = None
    with scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_heartbeats, services, services.heartbeats)
            nursery.start_soon(_watch_stop, work, should_stop, nursery.cancel_scope)
            result = await run_branch_work_here(services, work, None, own_plugin_state=True)
            nursery.cancel_scope.cancel()
    services.bus.close()
    if stop:  # the branch's own plugin state, for the run's final.json
        stop["plugins"] = services.plugin_state
    if result is None:
        return BranchResult(work.key, work.index, work.start, "fail", "branch canceled",
                            "canceled", logs_root=str(work.root), stop_run=stop)
    return result


def _stop_recorder(stop: dict[str, Any], scope: trio.CancelScope
                   ) -> Callable[[str, str, str, bool], None]:
    """A plugin's ``stop_run`` in the branch: the request goes back in the branch's result
    (the run's side stops the whole run with it), and the branch stops now."""
    def stop_run(exit_path: str, reason: str, failure_class: str, resumable: bool) -> None:
        if not stop:
            stop.update(exit_path=exit_path, reason=reason, failure_class=failure_class,
                        resumable=resumable)
        scope.cancel()

    return stop_run


async def _watch_stop(work: BranchWork, should_stop: Callable[[], bool] | None,
                      scope: trio.CancelScope) -> None:
    while not work.cancel_file.exists() and not (should_stop is not None and should_stop()):
        await trio.sleep(STOP_POLL)
    scope.cancel()


@frozen
class _RunSetup:
    manifest: Manifest
    pm: pluggy.PluginManager
    graph: Graph
    policy: RunPolicy
    options: dict[str, Any]


# A worker runs many branches of one run: its graph is parsed and validated once per
# worker process (keyed by run directory and manifest), not once per branch.
_SETUPS: dict[tuple[str, int], _RunSetup] = {}
_SETUPS_LOCK = threading.Lock()


def run_setup(run_dir: RunDir) -> _RunSetup:
    key = (str(run_dir.root), run_dir.manifest.stat().st_mtime_ns)
    with _SETUPS_LOCK:
        setup = _SETUPS.get(key)
        if setup is None:
            manifest = read_manifest(run_dir.manifest)
            pm = make_plugin_manager()
            graph = load_pipeline(run_dir.graph_copy, pm, manifest.overrides)
            setup = _SETUPS[key] = _RunSetup(
                manifest, pm, graph, resolve_policy(graph, manifest.policy, {}),
                run_options(manifest.options, None))
        return setup


async def _attach_workspace(work: BranchWork) -> RunWorkspace | None:
    """The run's workspace, attached to by its plugin here, if the parent sent its record."""
    if work.workspace is None:
        return None
    setup = run_setup(RunDir(Path(work.logs_root)))
    workspace: RunWorkspace | None = setup.pm.hook.attractor_branch_workspace(
        record=work.workspace, logs_root=Path(work.logs_root), run_id=setup.manifest.run_id,
        options=setup.options)
    if workspace is None:
        raise UsageError("no installed plugin serves the run's workspace on this worker "
                           f"({work.workspace.get('kind', '?')!r}); install the same plugins "
                           "as the parent")
    await workspace.start()
    return workspace


def _remote_services(work: BranchWork, workspace: RunWorkspace | None,
                     stop_run: Callable[[str, str, str, bool], None]) -> RunServices:
    run_dir = RunDir(Path(work.logs_root))
    setup = run_setup(run_dir)
    manifest = setup.manifest
    config = run_config(
        graph=setup.graph, run_id=manifest.run_id, run_dir=run_dir,
        workdir=Path(work.workdir), dot_path=Path(manifest.dot_file), pm=setup.pm,
        policy=setup.policy, options=setup.options, subruns=SUBRUNS)
    own = work.root / REMOTE_DIR
    own.mkdir(parents=True, exist_ok=True)
    sinks = collect_in_registration_order(
        setup.pm.hook.attractor_event_sinks(logs_root=own, run_id=manifest.run_id))
    bus = EventBus(manifest.run_id, sinks, first_seq=last_seq(own / "progress.ndjson") + 1)
    return RunServices(config, bus, workspace=workspace,
                       liveness=RelayedLiveness(progress_file=work.progress_file),
                       live=LiveView(own / "live.json", manifest.run_id),
                       processes=ProcessRecords(own / PROCESSES_FILE, trio.Event()),
                       enclosing_plugin_state=tuple(work.enclosing_plugin_state),
                       stop_run=stop_run)


def stop_branch_orphans(work: BranchWork) -> bool:
    """Stop what a dead worker left running of ``work`` on this machine: the process groups
    of the branch's ``executor/processes.json`` once the process that wrote it is gone, and
    those its records do not name (started an instant before the worker died, or moved to
    a session of their own) found by their stage environment (SIGTERM, the run's kill
    grace, SIGKILL). Called wherever an executor can run code on
    the dead worker's host, before the branch goes out again or the run ends.

    Returns False when the records were written on another host (nothing is signalled
    here: ask a process on that host), True otherwise."""
    recorded = read_process_records(work.root / REMOTE_DIR / PROCESSES_FILE)
    if recorded is not None and recorded.host and recorded.host != this_host():
        return False
    groups = left_behind(recorded)
    grace = run_setup(RunDir(Path(work.logs_root))).policy.kill_grace.seconds

    async def stop() -> None:
        if groups:
            await stop_left_behind(groups, grace, trio.Event())
        await stop_strays(work.root, grace, trio.Event())

    trio.run(stop)
    return True


async def _stop_left_behind(services: RunServices) -> None:
    """Process groups of an earlier dispatch of this branch whose worker died."""
    groups = left_behind(read_process_records(services.processes.path))
    if groups:
        with trio.CancelScope(shield=True):
            await stop_left_behind(groups, services.config.policy.kill_grace.seconds,
                                   services.processes.hurry)
