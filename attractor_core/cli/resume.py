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


def add_parser(sub: Any) -> None:
    p = sub.add_parser("resume", help=COMMANDS["resume"])
    p.add_argument("--logs-root", type=Path, required=True, help="the run directory")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    add_run_options(p)
    p.set_defaults(handler=guarded(_resume))


def _resume(args: argparse.Namespace) -> int:
    view = None if args.quiet else ProgressView()
    config = load_config(args.config) if args.config else None
    with signals_left_to_the_run():
        record = trio.run(with_view, view, lambda: resume_pipeline(
            args.logs_root, options=run_options(args), config=config,
            policy_overrides=policy_flags(args), on_event=view))
    print_summary(record)
    return record.exit_code
