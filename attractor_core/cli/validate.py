"""``attractor validate GRAPH.dot [...] [--json]``: parse, transform and lint pipelines.

Human output is one line per diagnostic, ``FILE:LINE: SEVERITY RULE: message``,
followed by an indented ``fix:`` line. ``--json`` prints one JSON array of
``{file, line, rule, severity, message, node_id, edge, fix}`` objects (a
file that cannot be parsed appears with rule ``parse``). Exit status: 0 no
errors, 1 some error diagnostic, 2 a file could not be read or parsed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pluggy

from attractor_core.cli.common import guarded
from attractor_core.cli.main import COMMANDS, EXIT_FAILED, EXIT_INVALID, EXIT_OK
from attractor_core.dot import ParseError
from attractor_core.pipeline import prepare_pipeline
from attractor_core.plugins import make_plugin_manager
from attractor_core.validation import Diagnostic, Severity
from attractor_core.validation.validate import sorted_diagnostics


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=COMMANDS["validate"],
        description="Parse, transform and lint DOT pipelines; exit 1 if any has errors.",
    )
    parser.add_argument("graphs", nargs="+", metavar="GRAPH.dot", help="pipeline files to check")
    parser.add_argument("--json", action="store_true", help="print diagnostics as a JSON array")
    parser.set_defaults(handler=guarded(run))


def run(args: argparse.Namespace) -> int:
    pm = make_plugin_manager()
    everything: list[Diagnostic] = []
    unreadable = False
    for path in args.graphs:
        found, failure = _check_one(path, pm)
        unreadable = unreadable or failure is not None
        everything.extend(found)
        if args.json:
            if failure is not None:  # stdout stays pure JSON; the reason also goes to stderr
                sys.stderr.write(" ".join(failure.splitlines()) + "\n")
        else:
            _print_human(path, found, failure)
    if args.json:
        import json

        print(json.dumps([d.to_json() for d in everything], indent=2))
    if unreadable:
        return EXIT_INVALID
    return EXIT_FAILED if any(d.is_error for d in everything) else EXIT_OK


def _check_one(path: str, pm: pluggy.PluginManager) -> tuple[list[Diagnostic], str | None]:
    """The file's diagnostics, and the one-line reason when it could not be parsed."""
    try:
        prepared = prepare_pipeline(path, pm)
    except ParseError as exc:
        return [_parse_diagnostic(exc)], str(exc)
    except Exception as exc:  # last resort: a user must never see a traceback
        problem = f"internal error while checking: {type(exc).__name__}: {exc}"
        fix = "please report this with the file attached"
        return [Diagnostic("internal", Severity.ERROR, problem, file=path, line=0, fix=fix)], (
            f"{path}: {problem}; {fix}"
        )
    return sorted_diagnostics(prepared.diagnostics), None


def _parse_diagnostic(exc: ParseError) -> Diagnostic:
    return Diagnostic(
        "parse",
        Severity.ERROR,
        exc.message,
        file=exc.file,
        line=exc.line,
        fix=exc.hint or "fix the DOT syntax at that position",
    )


def _print_human(path: str, found: list[Diagnostic], failure: str | None) -> None:
    if failure is not None:
        # One line, like a compiler's, whatever the message contains.
        sys.stderr.write(" ".join(failure.splitlines()) + "\n")
        return
    for diagnostic in found:
        print(diagnostic.format())
    errors = sum(1 for d in found if d.is_error)
    warnings = len(found) - errors
    verdict = "invalid" if errors else "valid"
    print(
        f"{path}: {verdict} ({errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)})"
    )
