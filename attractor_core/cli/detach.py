"""``attractor run --detach``: start the run in a session of its own and return.

The run is the same ``attractor run`` command, started again without ``--detach`` in a new
process session (no controlling terminal: closing the terminal sends it nothing), its stdin
``/dev/null`` and its output in ``detached.out`` and ``detached.err`` in the logs root. The
parent chooses the run id and logs root, so it knows where to look, and returns once the
run's ``run_started`` event is written (the run holds its lock and its workspace is ready), or
once the child has exited, refused (exit 2, its message relayed) or already finished.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attractor_core.errors import UsageError
from attractor_core.runtime.rundir import (
    RunDir,
    create_logs_root,
    refuse_existing_run,
    run_places,
)

_POLL_S = 0.02
# A run that has not started within this long (a slow git worktree on a huge repository, a
# preflight waiting on a network) is left to itself: the parent prints what it knows.
_START_WAIT_S = 120.0


def detach(args: argparse.Namespace, pm: Any) -> int:
    from attractor_core.engine.setup import new_run_id

    if args.interviewer == "console":
        raise UsageError("--detach leaves the run without a terminal, so --interviewer "
                         "console could not ask anything; use auto or queue:FILE")
    run_id = args.run_id or new_run_id()
    _, root = run_places(args.workdir, args.logs_root, run_id)
    run_dir = RunDir(root)
    refuse_existing_run(run_dir)
    created = create_logs_root(root)
    command = [sys.executable, "-m", "attractor_core", *_without_detach(args.argv),
               "--run-id", run_id, "--logs-root", str(root)]
    with run_dir.detached_stdout.open("wb") as out, run_dir.detached_stderr.open("wb") as err:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True, close_fds=True)
    started = _wait_for_start(run_dir, child)
    if started is None and child.returncode is not None:
        return _relay_refusal(run_dir, child.returncode, remove=created)
    lines = {"run_id": run_id, "logs_root": str(root), "pid": str(child.pid)}
    workspace = started.get("workspace") if started else None
    if isinstance(workspace, Mapping) and workspace and pm is not None:
        lines.update(pm.hook.attractor_workspace_summary(record=workspace) or {})
    sys.stdout.write("".join(f"{key}: {value}\n" for key, value in lines.items()))
    if started is None:
        sys.stderr.write(f"attractor: the run has not started within {_START_WAIT_S:.0f}s; "
                         f"it goes on: see 'attractor status --logs-root {root}' and "
                         f"{run_dir.detached_stderr}\n")
    return 0


def _without_detach(argv: Sequence[str]) -> list[str]:
    """The command line again, minus ``--detach`` (or an abbreviation argparse accepted)."""
    return [arg for arg in argv
            if not (arg.startswith("--") and len(arg) > 2 and "--detach".startswith(arg))]


def _wait_for_start(run_dir: RunDir, child: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    """The ``run_started`` event, once written; None when the child exited without one (or
    after the start wait)."""
    deadline = time.monotonic() + _START_WAIT_S
    while time.monotonic() < deadline:
        exited = child.poll() is not None
        if (event := _first_run_started(run_dir.progress)) is not None:
            return event
        if exited:
            return None
        time.sleep(_POLL_S)
    return None


def _first_run_started(progress: Path) -> dict[str, Any] | None:
    """The first ``run_started`` event of a fresh run's progress.ndjson (its first lines)."""
    try:
        with progress.open("rb") as fh:
            head = fh.read(262_144)
    except OSError:
        return None
    for line in head.split(b"\n")[:-1]:  # the last piece may be a line still being written
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "run_started":
            return event
    return None


def _relay_refusal(run_dir: RunDir, code: int, remove: bool) -> int:
    """The child ended before its run started: show what it said, exit with its code, and
    leave no directory behind that only holds its output."""
    for path, stream in ((run_dir.detached_stdout, sys.stdout),
                         (run_dir.detached_stderr, sys.stderr)):
        with contextlib.suppress(OSError):
            stream.write(path.read_text(encoding="utf-8", errors="replace"))
    if remove and not run_dir.manifest.exists():
        shutil.rmtree(run_dir.root, ignore_errors=True)
    return code
