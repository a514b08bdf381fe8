"""Entry point of the server plugin: the ``serve`` and ``render`` commands and the
``http`` interviewer. Nothing of the web stack is imported until a hook needs it."""

from __future__ import annotations

from typing import Any

from attractor_core.sdk import hookimpl


@hookimpl
def attractor_cli_commands(subparsers: Any) -> None:
    from .cli import add_commands

    add_commands(subparsers)


@hookimpl
def attractor_make_interviewer(spec: str) -> Any | None:
    """``http``: gates answered from ``attractor serve`` (questions parked in the run dir)."""
    if spec.strip() != "http":
        return None
    from .interviewer import HttpInterviewer

    return HttpInterviewer()
