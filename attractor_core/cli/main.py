"""The ``attractor`` command: one sub-command per module in this package.

Exit codes (docs/cli.md): 0 success, 1 run failed or validation errors,
2 invalid input (usage, unreadable or unparsable files, lock held),
3 canceled.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

# Each command lives in attractor_core.cli.<name> and exposes add_parser().
COMMANDS: tuple[str, ...] = ("validate", "run", "resume", "status")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_CANCELED = 3


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message short."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"attractor: error: {message}\n")
        raise SystemExit(EXIT_INVALID)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="attractor", description="Run and check Attractor DOT pipelines.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pm = _plugins()
    for name in COMMANDS:
        module = importlib.import_module(f"attractor_core.cli.{name}")
        command = module.add_parser(sub)
        if pm is not None and command is not None:
            dests = pm.hook.attractor_cli_options(command=name, parser=command)
            command.set_defaults(plugin_options=[d for found in dests for d in found])
    if pm is not None:
        pm.hook.attractor_cli_commands(subparsers=sub)
    parser.set_defaults(pm=pm)
    return parser


def _plugins() -> Any:
    """The plugin manager, for the options and commands plugins add. A plugin that fails to
    load adds none here: the command reports it when it loads the plugins itself."""
    from attractor_core.plugins import PluginLoadError, make_plugin_manager

    try:
        return make_plugin_manager()
    except PluginLoadError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    from attractor_core.cli.output import guard_output

    guard_output()
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        sys.stderr.write("attractor: interrupted\n")
        return EXIT_CANCELED
    except Exception as exc:  # a bug in attractor: one line for the user, the trace in a file
        report = _save_traceback(exc)
        sys.stderr.write(f"attractor: internal error: {type(exc).__name__}: {exc}\n"
                         f"the traceback is in {report}; please report it\n")
        return EXIT_FAILED
    return code


def _save_traceback(exc: BaseException) -> str:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="attractor-crash-", suffix=".txt",
                                     delete=False) as fh:
        fh.write("".join(traceback.format_exception(exc)))
        return fh.name


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
