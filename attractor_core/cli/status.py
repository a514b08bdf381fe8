"""``attractor status --logs-root DIR [--json]``: what a run is doing, or how it ended."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from attractor_core.cli.common import guarded
from attractor_core.runtime.run_status import read_run_status


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="show a run's state from its artifacts")
    p.add_argument("--logs-root", type=Path, required=True, help="the run directory")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(handler=guarded(_status))


def _status(args: argparse.Namespace) -> int:
    status = read_run_status(args.logs_root)
    if args.json:
        sys.stdout.write(json.dumps(attrs.asdict(status), indent=2) + "\n")
        return 0
    lines = [f"run {status.run_id}: {status.state}"]
    if status.current_node and status.state in ("running", "interrupted"):
        lines.append(f"current node: {status.current_node} (attempt {status.attempt})")
    if status.last_event:
        lines.append(f"last event: {status.last_event.get('event')} at "
                     f"{status.last_event.get('ts')}")
    if status.explanation:
        lines.append(status.explanation)
    if status.workspace:
        lines.append("workspace:")
        for key, value in status.workspace.items():
            text = str(value).rstrip("\n")
            lines.append(f"  {key}: {text}" if "\n" not in text
                         else f"  {key}:\n" + "\n".join(f"    {t}" for t in text.splitlines()))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
