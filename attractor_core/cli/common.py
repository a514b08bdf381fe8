"""Helpers shared by the run-related commands: option parsing and error reporting."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from attractor_core.cli.main import EXIT_INVALID
from attractor_core.errors import InputError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

POLICY_FLAGS = ("stall-timeout", "stall-check-interval", "stage-timeout", "heartbeat-interval",
                "kill-grace")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path  # the run commands' parsers only: validate does without it

    parser.add_argument("--backend", help="codergen backend (default: simulate)")
    parser.add_argument("--interviewer", help="human gates: auto, console or queue:FILE")
    parser.add_argument("--executor", metavar="SPEC",
                        help="where parallel branches run: local (default), or an executor "
                             "a plugin provides, e.g. dask://HOST:PORT, dask-local:N")
    parser.add_argument("--config", type=Path, help="run config file (TOML)")
    for flag in POLICY_FLAGS:
        parser.add_argument(f"--{flag}", metavar="DURATION", help=f"run policy {flag}")


def parse_assignments(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        result[key.strip()] = value
    return result


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--backend``, ``--interviewer``, ``--executor``, and the config file's ``[llm]``
    table as ``llm``.

    The config file's path is kept too (``config_file``, recorded in the manifest), so a
    resume without ``--config`` reads the same ``[llm]`` table again.
    """
    options: dict[str, Any] = {
        k: v for k in ("backend", "interviewer", "executor") if (v := getattr(args, k, None))}
    config = getattr(args, "config", None)
    if config:
        from attractor_core.config_file import llm_table  # tomllib: only when a file is given

        llm = llm_table(config)
        if llm is not None:
            options["llm"] = llm
        options["config_file"] = os.path.realpath(config)
    for dest in getattr(args, "plugin_options", ()):
        value = getattr(args, dest, None)
        if value is not None and value is not False:
            options[dest] = "true" if value is True else str(value)
    return options


def policy_flags(args: argparse.Namespace) -> dict[str, str]:
    values = {flag.replace("-", "_"): getattr(args, flag.replace("-", "_"), None)
              for flag in POLICY_FLAGS}
    return {k: v for k, v in values.items() if v}


def load_config(path: Path | None) -> dict[str, str]:
    """The ``[run]`` table of a TOML config file (all values kept as text)."""
    if path is None:
        return {}
    from attractor_core.config_file import run_table  # tomllib: only when a file is given

    return run_table(path)


def guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn input errors into one clear line and exit code 2, never a traceback."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except InputError as exc:
            sys.stderr.write(f"attractor: {exc}\n")
        return EXIT_INVALID

    return wrapper
