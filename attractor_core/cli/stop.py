"""``attractor stop --logs-root DIR [--grace D]``: stop a running run from another terminal.

The stop goes through the run's own cancellation path: a request in ``stop.json`` naming the
owner (pid and start time, from ``run.lock``), then SIGTERM to that owner, which cancels the
run as a first Ctrl-C does and, finding the request, ends it ``canceled`` with exit path
``stopped``. After ``--grace`` a second SIGTERM escalates (every live process group gets
SIGKILL at once). An owner that still has not ended after another grace (at least 5 s) is
killed, and so is every process group it recorded: the command returns only once nothing of
the run runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from attractor_core.cli.common import guarded
from attractor_core.cli.main import COMMANDS, EXIT_FAILED, EXIT_INVALID
from attractor_core.errors import UsageError
from attractor_core.model import Duration, ValueFormatError
from attractor_core.runtime.final import ExitPath, FinalRecord, read_final, resume_command
from attractor_core.runtime.lock import LockOwner, RunLock, process_alive
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.process_records import read_process_records
from attractor_core.runtime.procfs import left_behind, signal_group, still_alive
from attractor_core.runtime.rundir import RunDir, base_run_root
from attractor_core.runtime.stop_request import write_stop_request

DEFAULT_GRACE = "10s"
_POLL_S = 0.05
# After the escalation every process group has had SIGKILL: the owner then only finishes its
# workspace (a last commit), writes final.json and releases its lock. It gets the grace again
# for that, and at least this long.
_AFTER_ESCALATION_MIN_S = 5.0
# How long SIGKILLed processes may take to disappear (one in uninterruptible sleep).
_REAP_WAIT_S = 5.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("stop", help=COMMANDS["stop"])
    p.add_argument("--logs-root", type=Path, required=True, help="the run directory")
    p.add_argument("--grace", metavar="DURATION", default=DEFAULT_GRACE,
                   help=f"how long the run may take to stop before the stop escalates "
                        f"(default {DEFAULT_GRACE})")
    p.set_defaults(handler=guarded(_stop))


def _stop(args: argparse.Namespace) -> int:
    try:
        grace = Duration.parse(args.grace).seconds
    except ValueFormatError as exc:
        raise UsageError(f"--grace: {exc}") from None
    run_dir = RunDir(base_run_root(args.logs_root.resolve()))
    manifest = read_manifest(run_dir.manifest)
    lock = RunLock(run_dir.lock, manifest.run_id)
    owner = lock.owner()
    if owner is None and run_dir.lock.exists():
        raise UsageError(f"{run_dir.lock} cannot be read, so the process running run "
                         f"{manifest.run_id} is unknown; look at 'attractor status "
                         f"--logs-root {run_dir.root}'")
    if owner is None or not process_alive(owner.pid, owner.start_time):
        return _not_running(run_dir, manifest.run_id, read_final(run_dir.final))
    if not owner.stops_on_signal:
        raise UsageError(f"run {manifest.run_id} runs in process {owner.pid}, which does not "
                         "turn signals into a cancellation (it runs the Python API without "
                         "signal handling); cancel it through that program")
    write_stop_request(run_dir.stop_request, owner.pid, owner.start_time)
    _signal_owner(owner)
    sys.stdout.write(f"stopping run {manifest.run_id} (pid {owner.pid})\n")
    sys.stdout.flush()
    if not _ended(run_dir, owner, grace):
        sys.stdout.write(f"still running after {args.grace}: escalating (SIGKILL to its "
                         "process groups)\n")
        sys.stdout.flush()
        _signal_owner(owner)
        if not _ended(run_dir, owner, max(grace, _AFTER_ESCALATION_MIN_S)):
            _kill_owner(owner)
    stray = _stop_left_behind(run_dir)
    return _report(run_dir, manifest.run_id, stray)


def _not_running(run_dir: RunDir, run_id: str, final: FinalRecord | None) -> int:
    """No live owner: nothing to stop, except process groups a killed owner left running."""
    stray = _stop_left_behind(run_dir)
    if final is not None:
        what = f"run {run_id} already finished ({final.status}, exit_path {final.exit_path})"
    else:
        what = (f"run {run_id} is not running (the process that ran it is gone); continue it "
                f"with '{resume_command(str(run_dir.root))}'")
    if stray:
        sys.stdout.write(f"{what}; stopped {stray} process group(s) it left running\n")
        return 0
    sys.stderr.write(f"attractor: {what}; there is nothing to stop\n")
    return EXIT_INVALID


def _signal_owner(owner: LockOwner, sig: int = signal.SIGTERM) -> None:
    """Signal the owner, if it is still the process the lock names (not a reused pid)."""
    if process_alive(owner.pid, owner.start_time):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(owner.pid, sig)


def _kill_owner(owner: LockOwner) -> None:
    _signal_owner(owner, signal.SIGKILL)
    deadline = time.monotonic() + _REAP_WAIT_S
    while process_alive(owner.pid, owner.start_time) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def _ended(run_dir: RunDir, owner: LockOwner, limit_s: float) -> bool:
    """Wait up to ``limit_s`` for the run to end: its owner gone, or its final.json written
    and its lock released (an owner that outlives its run, such as a server, may stay)."""
    deadline = time.monotonic() + limit_s
    while True:
        if not process_alive(owner.pid, owner.start_time):
            return True
        if run_dir.final.exists() and _lock_released_by(run_dir, owner):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def _lock_released_by(run_dir: RunDir, owner: LockOwner) -> bool:
    now = RunLock(run_dir.lock, owner.run_id).owner()
    if now is None:
        return not run_dir.lock.exists()
    return now.pid != owner.pid


def _stop_left_behind(run_dir: RunDir) -> int:
    """SIGKILL the process groups the run's dead owner recorded and still run; how many."""
    groups = left_behind(read_process_records(run_dir.processes))
    deadline = time.monotonic() + _REAP_WAIT_S
    while (alive := still_alive(groups)) and time.monotonic() < deadline:
        for group in alive:
            signal_group(group.pgid, signal.SIGKILL)
        time.sleep(_POLL_S)
    return len(groups)


def _report(run_dir: RunDir, run_id: str, stray: int) -> int:
    final = read_final(run_dir.final)
    strays = f"; stopped {stray} process group(s) it left running" if stray else ""
    if final is None:
        sys.stdout.write(
            f"run {run_id}: did not end after the escalation; its process was killed{strays}. "
            "Nothing of it runs any more; continue it with "
            f"'{resume_command(str(run_dir.root))}'\n")
        return EXIT_FAILED
    line = f"run {run_id}: {final.status} ({final.exit_path})"
    if final.failed_node_id:
        line += f" at {final.failed_node_id}"
    if final.exit_path != ExitPath.STOPPED:
        line += " (it ended on its own before the stop took effect)"
    sys.stdout.write(line + strays + "\n")
    if final.status == "canceled":
        sys.stdout.write(f"continue it with: {resume_command(final.logs_root)}\n")
    return 0
