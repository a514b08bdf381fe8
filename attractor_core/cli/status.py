"""``attractor status --logs-root DIR [--json]``: what a run is doing, or how it ended."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from attractor_core.cli.common import guarded
from attractor_core.cli.main import COMMANDS
from attractor_core.runtime.run_status import RunStatus, failed_branch_count, read_run_status


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help=COMMANDS["status"])
    p.add_argument("--logs-root", type=Path, required=True, help="the run directory")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(handler=guarded(_status))


def _status(args: argparse.Namespace) -> int:
    status = read_run_status(args.logs_root)
    if args.json:
        import attrs  # the records convert as attrs classes; the plain output does without

        sys.stdout.write(json.dumps(attrs.asdict(status), indent=2) + "\n")
        return 0
    failed = failed_branch_count(status.fan_outs)
    caveat = f", with {failed} failed parallel branch{'es' * (failed != 1)}" if failed else ""
    lines = [f"run {status.run_id}: {status.state}{caveat}"]
    if status.owner_pid:
        lines.append(f"owner: pid {status.owner_pid}")
    if status.current_node and status.state in ("running", "interrupted"):
        lines.append(f"current node: {status.current_node} (attempt {status.attempt})")
    if status.exit_node:
        lines.append(f"exit node: {status.exit_node}")
    lines += [f"fan-out {f.node_id} ({f.status}): {f.verdict}" for f in status.fan_outs]
    if status.last_event:
        lines.append(f"last event: {status.last_event.get('event')} at "
                     f"{status.last_event.get('ts')}")
    if status.explanation:
        lines.append(status.explanation)
    if status.stale_process_groups:
        lines.append(_stale_groups_text(status))
    lines += [state["status_line"] for state in status.plugins.values()
              if isinstance(state, dict) and isinstance(state.get("status_line"), str)
              and state["status_line"]]
    if status.workspace:
        lines.append("workspace:")
        for key, value in status.workspace.items():
            text = str(value).rstrip("\n")
            lines.append(f"  {key}: {text}" if "\n" not in text
                         else f"  {key}:\n" + "\n".join(f"    {t}" for t in text.splitlines()))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _stale_groups_text(status: RunStatus) -> str:
    groups = status.stale_process_groups
    listed = "; ".join(
        f"pgid {g.pgid} (node {g.node_id}, attempt {g.attempt}"
        + (f", branch {g.branch_key}" if g.branch_key else "") + ")" for g in groups)
    remedy = (f"'attractor resume --logs-root {status.logs_root}' stops them before it "
              "continues" if status.state in ("interrupted", "canceled") else
              "stop them with kill -- -PGID")
    return (f"{len(groups)} process group(s) of the dead run are still running: {listed}; "
            f"{remedy}")
