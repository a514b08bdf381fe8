"""The built-in interviewers and the ``--interviewer`` spec strings that name them.

========================  =====================================================
spec                      interviewer
========================  =====================================================
``auto``                  :class:`AutoApproveInterviewer` (the default)
``console``               :class:`ConsoleInterviewer` (stderr prompt, stdin answer)
``queue:FILE``            :class:`QueueInterviewer`, one answer per line of FILE
``recording:SPEC``        :class:`RecordingInterviewer` around the built-in SPEC,
                          writing ``interviews.json`` in the logs root
========================  =====================================================

:class:`CallbackInterviewer` has no spec string: pass an instance through
the Python API (run option ``interviewer``), like any third-party interviewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attractor_handlers.interviewers.auto import AutoApproveInterviewer
from attractor_handlers.interviewers.callback import CallbackInterviewer
from attractor_handlers.interviewers.console import ConsoleInterviewer
from attractor_handlers.interviewers.queue import QueueInterviewer
from attractor_handlers.interviewers.recording import RecordingInterviewer

__all__ = [
    "SPEC_USAGE",
    "AutoApproveInterviewer",
    "CallbackInterviewer",
    "ConsoleInterviewer",
    "InterviewerSpecError",
    "QueueInterviewer",
    "RecordingInterviewer",
    "make_interviewer",
    "resolve_interviewer",
]

SPEC_USAGE = "use auto, console, queue:FILE or recording:SPEC"


class InterviewerSpecError(ValueError):
    """An ``--interviewer`` value names no interviewer, or names one that cannot be built."""


def make_interviewer(spec: str) -> Any | None:
    """Build the built-in interviewer ``spec`` names; ``None`` if it names none of ours.

    Raises :class:`InterviewerSpecError` when the spec is ours but unusable
    (a queue file that cannot be read).
    """
    name, _, argument = spec.strip().partition(":")
    if name == "auto" and not argument:
        return AutoApproveInterviewer()
    if name == "console" and not argument:
        return ConsoleInterviewer()
    if name == "queue" and argument:
        return _queue(Path(argument))
    if name == "recording" and argument:
        inner = make_interviewer(argument)
        if inner is None:
            raise InterviewerSpecError(
                f"recording:{argument}: unknown inner interviewer; {SPEC_USAGE}"
            )
        return RecordingInterviewer(inner)
    return None


def _queue(path: Path) -> QueueInterviewer:
    try:
        return QueueInterviewer.from_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InterviewerSpecError(
            f"queue:{path}: cannot read the answers file ({exc.__class__.__name__}: {exc}); "
            "give a readable text file with one answer per line"
        ) from None


def resolve_interviewer(option: Any, hook: Any) -> Any:
    """Turn the run option ``interviewer`` into an interviewer object.

    A non-string is used as is (the Python API passes objects); a string is
    offered to every plugin's ``attractor_make_interviewer``. Raises
    :class:`InterviewerSpecError` when nobody knows the spec.
    """
    if not isinstance(option, str):
        if not callable(getattr(option, "ask", None)):
            raise InterviewerSpecError(
                f"interviewer {option!r} has no ask(question) method; pass an interviewer object"
            )
        return option
    interviewer = hook.attractor_make_interviewer(spec=option)
    if interviewer is None:
        raise InterviewerSpecError(f"unknown interviewer {option!r}; {SPEC_USAGE}")
    return interviewer
