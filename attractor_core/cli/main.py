"""The ``attractor`` command: one sub-command per module in this package.

Exit codes (docs/cli.md): 0 success, 1 run failed or validation errors,
2 invalid input (usage, unreadable or unparsable files, lock held),
3 canceled.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from attractor_core.cli.output import guard_output

# Each command lives in attractor_core.cli.<name> and exposes add_parser(); its one-line
# help is kept here so that ``attractor --help`` imports no command module.
COMMANDS: dict[str, str] = {
    "validate": "check pipelines without running them",
    "run": "run a pipeline",
    "resume": "continue an interrupted run from its checkpoint",
    "status": "show a run's state from its artifacts",
    "stop": "stop a running run from another terminal (it stays resumable)",
    "runs": "list the runs under a directory with their state",
}

# Plugins declare the commands they add (``attractor_cli_commands``) in this entry-point
# group, ``NAME = "module:CONSTANT"`` with the one-line help in that constant, so that
# ``attractor --help`` lists them without loading any plugin.
COMMANDS_GROUP = "attractor.commands"

# The commands plugins may add options to (``attractor_cli_options``); only for them, and for
# a command no built-in knows (``attractor_cli_commands``), are the plugins loaded up front.
PLUGIN_OPTIONS = ("run", "resume")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_CANCELED = 3


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal width up front: left to itself it imports
    shutil (and zlib, bz2, lzma with it) for ``get_terminal_size`` in every parser."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


def _columns() -> int:
    """``shutil.get_terminal_size().columns``: ``$COLUMNS``, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message short. Help is formatted
    with :class:`_Formatter` unless the command asks for another formatter."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"attractor: error: {message}\n")
        raise SystemExit(EXIT_INVALID)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser for the command named in ``argv``; the others are listed only.

    Importing a command module loads what it needs (the engine, trio, the plugin
    machinery), so only the chosen one is imported: ``--help`` and ``status`` stay fast.
    """
    parser = _Parser(prog="attractor", description="Run and check Attractor DOT pipelines.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    pm = _plugins() if chosen in PLUGIN_OPTIONS or (chosen and chosen not in COMMANDS) else None
    for name, summary in COMMANDS.items():
        if name != chosen:
            sub.add_parser(name, help=summary)
            continue
        command = importlib.import_module(f"attractor_core.cli.{name}").add_parser(sub)
        if pm is not None and command is not None:
            dests = pm.hook.attractor_cli_options(command=name, parser=command)
            command.set_defaults(plugin_options=[d for found in dests for d in found])
    if pm is not None:
        pm.hook.attractor_cli_commands(subparsers=sub)
    elif chosen is None:  # ``attractor --help``: the plugins' commands too, as they declare them
        for name, summary in declared_commands():
            if name not in sub.choices:
                sub.add_parser(name, help=summary)
    parser.set_defaults(pm=pm)
    return parser


def declared_commands() -> list[tuple[str, str]]:
    """The commands installed plugins declare in the ``attractor.commands`` entry-point group,
    with their one-line help (the value the entry point names), in plugin registration order.

    Listing them imports the small modules holding the help text, not the plugins: the
    commands' parsers are built by ``attractor_cli_commands`` when one of them is run. A
    declaration whose help cannot be loaded is listed without help; running the command
    then reports the broken plugin.
    """
    from attractor_core.entry_points import find_entry_points, registration_order

    found = []
    for ep in registration_order(find_entry_points(COMMANDS_GROUP)):
        try:
            summary = ep.load()
        except Exception:
            summary = ""
        found.append((ep.name, summary if isinstance(summary, str) else ""))
    return found


def _plugins() -> Any:
    """The plugin manager, for the options and commands plugins add. A plugin that fails to
    load adds none here: the command reports it when it loads the plugins itself."""
    from attractor_core.plugins import PluginLoadError, make_plugin_manager

    try:
        return make_plugin_manager()
    except PluginLoadError:
        return None


class _VersionAction(argparse.Action):
    """``--version``: the version is looked up only when asked for (importlib.metadata is slow
    to import, and every other invocation would pay for it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        kwargs.setdefault("nargs", 0)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(f"attractor {_version()}\n")
        parser.exit()


def _version() -> str:
    """The installed attractor-core distribution's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attractor-core")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    guard_output()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    args.argv = argv  # the command line as given (``run --detach`` starts it again)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        sys.stderr.write("attractor: interrupted\n")
        return EXIT_CANCELED
    except Exception as exc:
        if _artifact_write_error(exc):  # before a run could record it: a full disk, say
            sys.stderr.write(f"attractor: {exc}\n")
            return EXIT_FAILED
        # A bug in attractor: one line for the user, the trace in a file.
        report = _save_traceback(exc)
        sys.stderr.write(f"attractor: internal error: {type(exc).__name__}: {exc}\n"
                         f"the traceback is in {report}; please report it\n")
        return EXIT_FAILED
    return code


def _artifact_write_error(exc: Exception) -> bool:
    """Whether ``exc`` is an :class:`~attractor_core.runtime.atomic.ArtifactWriteError`. Only
    code that imported that module can raise one, so it is looked up, not imported (the
    commands that write nothing never load it)."""
    atomic = sys.modules.get("attractor_core.runtime.atomic")
    return atomic is not None and isinstance(exc, atomic.ArtifactWriteError)


def _save_traceback(exc: BaseException) -> str:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="attractor-crash-", suffix=".txt",
                                     delete=False) as fh:
        fh.write("".join(traceback.format_exception(exc)))
        return fh.name


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
