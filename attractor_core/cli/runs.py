"""``attractor runs [--runs-root DIR] [--json]``: the runs under a directory, one line each.

Each run directory is read as ``attractor status`` reads it (its artifacts and ``/proc``,
never changing anything). A directory whose artifacts cannot be read is listed as
``unreadable`` with the reason: one broken run never hides the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from attractor_core.cli.common import guarded
from attractor_core.cli.main import COMMANDS
from attractor_core.errors import UsageError
from attractor_core.runtime.manifest import read_manifest
from attractor_core.runtime.run_status import RunStatus, read_run_status
from attractor_core.runtime.rundir import RUNS_DIR


def add_parser(sub: Any) -> None:
    p = sub.add_parser("runs", help=COMMANDS["runs"])
    p.add_argument("--runs-root", type=Path,
                   help="the directory holding run directories (default .attractor/runs)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler=guarded(_runs))


@frozen
class RunLine:
    run_id: str
    state: str  # running | success | fail | canceled | interrupted | unreadable
    logs_root: str
    started_at: str = ""
    age_s: int | None = None  # seconds since the run started
    node: str = ""  # running/interrupted: the current node; else the failed or exit node
    exit_path: str = ""
    owner_pid: int | None = None
    workspace: dict[str, str] | None = None  # the workspace plugin's summary (branch...)
    problem: str = ""  # why an unreadable run could not be read


def _runs(args: argparse.Namespace) -> int:
    root = (args.runs_root or Path.cwd() / RUNS_DIR).resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--runs-root {root} is not a directory")
    summarize = _workspace_summary()
    now = dt.datetime.now(dt.UTC)
    lines = [_line(path, now, summarize) for path in _run_dirs(root)]
    lines.sort(key=lambda line: (line.started_at, line.run_id), reverse=True)
    if args.json:
        import attrs

        sys.stdout.write(json.dumps([attrs.asdict(line) for line in lines], indent=2) + "\n")
        return 0
    if not lines:
        sys.stdout.write(f"no runs under {root}\n")
        return 0
    sys.stdout.write(_table(lines))
    return 0


def _run_dirs(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UsageError(f"cannot list {root}: {exc.strerror}") from None


def _line(path: Path, now: dt.datetime, summarize: Any) -> RunLine:
    # Any failure to read one run is that run's problem, reported on its line: a listing of
    # many runs must survive a half-deleted or hand-edited one.
    try:
        manifest = read_manifest(path / "manifest.json")
        status = read_run_status(path)
    except UsageError as exc:
        return RunLine(path.name, "unreadable", str(path), problem=str(exc))
    except Exception as exc:
        return RunLine(path.name, "unreadable", str(path),
                       problem=f"{type(exc).__name__}: {exc}")
    return RunLine(status.run_id, status.state, str(path), started_at=manifest.started_at,
                   age_s=_age(manifest.started_at, now), node=_node(status),
                   exit_path=status.exit_path, owner_pid=status.owner_pid,
                   workspace=summarize(status.workspace))


def _node(status: RunStatus) -> str:
    if status.state in ("running", "interrupted"):
        return status.current_node
    return status.failed_node_id or status.exit_node


def _age(started_at: str, now: dt.datetime) -> int | None:
    try:
        started = dt.datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if started.tzinfo is None:
        return None
    return max(0, int((now - started).total_seconds()))


def _workspace_summary() -> Any:
    """``record -> {label: value}`` from the plugins (``attractor_workspace_summary``); with
    no plugins loadable, runs are listed without it."""
    from attractor_core.plugins import PluginLoadError, make_plugin_manager

    try:
        pm = make_plugin_manager()
    except PluginLoadError:
        return lambda record: None

    def summarize(record: Mapping[str, Any]) -> dict[str, str] | None:
        if not record:
            return None
        found = pm.hook.attractor_workspace_summary(record=record)
        return {str(k): str(v) for k, v in found.items()} if found else None

    return summarize


def _table(lines: list[RunLine]) -> str:
    rows = [("RUN", "STATE", "AGE", "NODE", "WORKSPACE")]
    for line in lines:
        workspace = next(iter(line.workspace.values()), "") if line.workspace else ""
        state = line.state if line.state != "canceled" or not line.exit_path \
            else f"canceled ({line.exit_path})"
        rows.append((line.run_id, state, _human_age(line.age_s), line.node or "-",
                     workspace or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    text = "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  " + row[-1] + "\n" for row in rows)
    problems = [f"{line.logs_root}: {line.problem}\n" for line in lines if line.problem]
    return text + "".join(problems)


def _human_age(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
