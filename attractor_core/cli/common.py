"""Helpers shared by the run-related commands: option parsing and error reporting."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attractor_core.cli.main import EXIT_INVALID
from attractor_core.dot import ParseError
from attractor_core.errors import UsageError
from attractor_core.validation import ValidationError

POLICY_FLAGS = ("stall-timeout", "stall-check-interval", "stage-timeout", "heartbeat-interval",
                "kill-grace")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", help="codergen backend (default: simulate)")
    parser.add_argument("--interviewer", help="human gates: auto, console or queue:FILE")
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
    """``--backend``, ``--interviewer``, and the config file's ``[llm]`` table as ``llm``."""
    options: dict[str, Any] = {
        k: v for k in ("backend", "interviewer") if (v := getattr(args, k, None))}
    llm = _read_toml(args.config).get("llm") if getattr(args, "config", None) else None
    if llm is not None:
        if not isinstance(llm, dict):
            raise UsageError(f"{args.config}: [llm] must be a table")
        options["llm"] = llm
    return options


def policy_flags(args: argparse.Namespace) -> dict[str, str]:
    values = {flag.replace("-", "_"): getattr(args, flag.replace("-", "_"), None)
              for flag in POLICY_FLAGS}
    return {k: v for k, v in values.items() if v}


def load_config(path: Path | None) -> dict[str, str]:
    """The ``[run]`` table of a TOML config file (all values kept as text)."""
    if path is None:
        return {}
    table = _read_toml(path).get("run", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [run] must be a table")
    return {str(k): str(v) for k, v in table.items()}


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn input errors into one clear line and exit code 2, never a traceback."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ValidationError as exc:
            sys.stderr.write(f"attractor: invalid pipeline:\n{exc}\n")
        except (ParseError, UsageError) as exc:
            sys.stderr.write(f"attractor: {exc}\n")
        return EXIT_INVALID

    return wrapper
