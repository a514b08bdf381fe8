"""``attractor run GRAPH.dot``: run a pipeline to its end."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from attractor_core.cli.common import (
    add_run_options,
    guarded,
    load_config,
    parse_assignments,
    policy_flags,
    run_options,
)
from attractor_core.cli.progress_view import ProgressView
from attractor_core.engine import run_pipeline
from attractor_core.runtime.final import FinalRecord


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("run", help="run a pipeline")
    p.add_argument("graph", type=Path, help="the pipeline's DOT file")
    p.add_argument("--logs-root", type=Path, help="run directory (default .attractor/runs/<id>)")
    p.add_argument("--run-id", help="the run's id (default: time-stamped)")
    p.add_argument("--workdir", type=Path, help="where tools and agents work (default: cwd)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                   help="override a graph attribute, e.g. --set goal='...'")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    add_run_options(p)
    p.set_defaults(handler=guarded(_run))
    return p


def _run(args: argparse.Namespace) -> int:
    view = None if args.quiet else ProgressView()
    overrides = parse_assignments(args.overrides, "--set")
    config = load_config(args.config)
    record = trio.run(with_view, view, lambda: run_pipeline(
        args.graph, logs_root=args.logs_root, workdir=args.workdir, run_id=args.run_id,
        options=run_options(args), overrides=overrides, config=config,
        policy_overrides=policy_flags(args), pm=args.pm, on_event=view))
    print_summary(record)
    return record.exit_code


async def with_view(view: ProgressView | None,
                    work: Callable[[], Awaitable[FinalRecord]]) -> FinalRecord:
    """Run ``work`` while the live view's clock ticks (on a terminal)."""
    if view is None or not view.live:
        return await work()
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(view.tick)
        try:
            record = await work()
        except Exception as exc:
            # Re-raised bare below: a nursery would wrap it in an ExceptionGroup,
            # and guarded() must see the input error itself to print one line.
            failure = exc
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return record


def print_summary(record: FinalRecord) -> None:
    line = f"run {record.run_id}: {record.status} ({record.exit_path})"
    if record.failure_reason:
        where = f" at {record.failed_node_id}" if record.failed_node_id else ""
        line += f"{where}: {record.failure_reason}"
    sys.stdout.write(f"{line}\nlogs: {record.logs_root}\n")
