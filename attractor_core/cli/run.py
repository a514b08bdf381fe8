"""``attractor run GRAPH.dot``: run a pipeline to its end."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
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
from attractor_core.cli.main import COMMANDS
from attractor_core.cli.progress_view import ProgressView
from attractor_core.engine import run_pipeline
from attractor_core.pipeline import prepare_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.runtime.final import ExitPath, FinalRecord, resume_command
from attractor_core.validation.validate import sorted_diagnostics


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("run", help=COMMANDS["run"])
    p.add_argument("graph", type=Path, help="the pipeline's DOT file")
    p.add_argument("--logs-root", type=Path, help="run directory (default .attractor/runs/<id>)")
    p.add_argument("--run-id", help="the run's id (default: time-stamped)")
    p.add_argument("--workdir", type=Path, help="where tools and agents work (default: cwd)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                   help="override a graph attribute, e.g. --set goal='...'")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument("--detach", action="store_true",
                   help="start the run in a session of its own, print its run_id, logs_root "
                        "(and workspace) and return; stop it with 'attractor stop'")
    add_run_options(p)
    p.set_defaults(handler=guarded(_run))
    return p


def _run(args: argparse.Namespace) -> int:
    view = None if args.quiet else ProgressView()
    overrides = parse_assignments(args.overrides, "--set")
    config = load_config(args.config)
    pm = args.pm if args.pm is not None else make_plugin_manager()
    if args.detach:
        from attractor_core.cli.detach import detach

        return detach(args, pm)
    if not args.quiet:
        print_warnings(args.graph, pm, overrides)
    with signals_left_to_the_run():
        record = trio.run(with_view, view, lambda: run_pipeline(
            args.graph, logs_root=args.logs_root, workdir=args.workdir, run_id=args.run_id,
            options=run_options(args), overrides=overrides, config=config,
            policy_overrides=policy_flags(args), pm=pm, on_event=view))
    print_summary(record)
    return record.exit_code


@contextlib.contextmanager
def signals_left_to_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM belong to the run while it runs (it cancels, then escalates).
    Around it they change nothing for the rest of this command: no ``KeyboardInterrupt`` and
    no death by signal of a run that ended ``canceled``. Before the run (argument and config
    parsing) a Python-level no-op handler: SIG_IGN would be inherited by every command the
    run starts. Once the run is over it starts nothing more, and SIG_IGN is the one
    disposition the interpreter's shutdown keeps (it resets Python handlers to the default)."""
    watched = (signal.SIGINT, signal.SIGTERM)
    for signum in watched:
        signal.signal(signum, _changes_nothing)
    yield
    for signum in watched:
        signal.signal(signum, signal.SIG_IGN)


def _changes_nothing(signum: int, frame: object) -> None:
    return None


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


def print_warnings(graph: Path, pm: Any, overrides: dict[str, str]) -> None:
    """The lint warnings of the pipeline, on stderr, before it runs (errors stop the run
    later with the usual message)."""
    diagnostics = prepare_pipeline(graph, pm, overrides).diagnostics
    for diagnostic in sorted_diagnostics([d for d in diagnostics if not d.is_error]):
        sys.stderr.write(diagnostic.format() + "\n")


def print_summary(record: FinalRecord) -> None:
    line = f"run {record.run_id}: {record.status} ({record.exit_path})"
    if record.failure_reason:
        where = f" at {record.failed_node_id}" if record.failed_node_id else ""
        line += f"{where}: {record.failure_reason}"
    lines = [line, *(f"fan-out {f.node_id} ({f.status}): {f.verdict}" for f in record.fan_outs)]
    lines.append(f"logs: {record.logs_root}")
    if record.exit_path in ExitPath.RESUMABLE:
        lines.append(f"continue it with: {resume_command(record.logs_root)}")
    sys.stdout.write("\n".join(lines) + "\n")
