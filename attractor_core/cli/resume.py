"""``attractor resume --logs-root DIR``: continue an interrupted run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import trio

from attractor_core.cli.common import (
    add_run_options,
    guarded,
    load_config,
    policy_flags,
    run_options,
)
from attractor_core.cli.main import COMMANDS
from attractor_core.cli.progress_view import ProgressView
from attractor_core.cli.run import print_summary, signals_left_to_the_run, with_view
from attractor_core.engine import resume_pipeline
from attractor_core.errors import UsageError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("resume", help=COMMANDS["resume"])
    p.add_argument("--logs-root", type=Path,
                   help="the run directory (required unless a plugin option names the run)")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    add_run_options(p)
    p.set_defaults(handler=guarded(_resume))
    return p


def _resume(args: argparse.Namespace) -> int:
    view = None if args.quiet else ProgressView()
    config = load_config(args.config) if args.config else None
    options = run_options(args)
    logs_root = args.logs_root or _located(args, options)
    with signals_left_to_the_run():
        record = trio.run(with_view, view, lambda: resume_pipeline(
            logs_root, options=options, config=config,
            policy_overrides=policy_flags(args), pm=args.pm, on_event=view))
    print_summary(record)
    return record.exit_code


def _located(args: argparse.Namespace, options: dict[str, Any]) -> Path:
    """The logs root a plugin finds from its own options (e.g. a run's git branch)."""
    found: Path | None = None
    if args.pm is not None:
        found = args.pm.hook.attractor_locate_run(options=options, workdir=Path.cwd())
    if found is None:
        raise UsageError("resume needs --logs-root DIR (the run directory printed when the "
                         "run started)")
    return found
