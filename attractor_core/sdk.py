"""The plugin SDK: the one module a plugin author imports.

Everything a handler, policy, status source, event sink, lint rule,
transform, codergen backend or interviewer may use is re-exported here, and
nothing else is promised: other kernel modules can change between releases.
docs/plugins.md is the tutorial and the hook reference.

Names load on first use, so ``from attractor_core.sdk import hookimpl`` in a
plugin's entry-point module costs nothing that ``attractor validate`` does
not already pay for.

Plugin wiring
    ``hookimpl`` (the marker for hook implementations), ``DeferredHandler``
    (register a handler whose module is imported on first use).
Interfaces (structural: implement them, no need to subclass)
    ``Handler``, ``StageRun`` (what a handler is given), ``StatusSource``,
    ``EventSink``, ``LintRule``, ``Transform``, ``CodergenBackend``,
    ``Interviewer``.
The model
    ``Graph``, ``Node``, ``Edge``, ``Outcome``, ``StageStatus``,
    ``FailureClass``, ``Context``, ``Duration``.
Events
    ``Event`` (the base of typed events: a frozen attrs class with a ``name``
    class variable), ``Warning``; send one with ``run.emit(event)``.
Files and processes
    ``write_bytes_atomic``, ``write_text_atomic``, ``write_json_atomic`` (the
    one atomic-write primitive), ``run_in_group`` and ``kill_grace_seconds``
    (run a command in its own process group, stopped as a whole on
    cancellation), ``stage_environment`` (the ``ATTRACTOR_*`` variables of a
    stage).
Human gates
    ``Question``, ``QuestionType``, ``Option``, ``Answer``, ``AnswerValue``.
Lint rules
    ``Diagnostic``, ``Severity``.
Errors
    ``AttractorError``, ``InputError``, ``UsageError``, ``ParseError``,
    ``ValidationError``, ``ValueFormatError``, ``RunError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attractor_core.dot.errors import ParseError
    from attractor_core.engine.stage_run import stage_environment
    from attractor_core.errors import AttractorError, InputError, RunError, UsageError
    from attractor_core.human import Answer, AnswerValue, Option, Question, QuestionType
    from attractor_core.model import (
        Context,
        Duration,
        Edge,
        FailureClass,
        Graph,
        Node,
        Outcome,
        StageStatus,
        ValueFormatError,
    )
    from attractor_core.plugins import hookimpl
    from attractor_core.process_group import kill_grace_seconds, run_in_group
    from attractor_core.protocols import (
        CodergenBackend,
        EventSink,
        Handler,
        Interviewer,
        LintRule,
        StageRun,
        StatusSource,
        Transform,
    )
    from attractor_core.registry import DeferredHandler
    from attractor_core.runtime.atomic import (
        write_bytes_atomic,
        write_json_atomic,
        write_text_atomic,
    )
    from attractor_core.runtime.events import Event, Warning
    from attractor_core.validation.diagnostics import Diagnostic, Severity, ValidationError

# name -> the module that defines it
_SOURCES: dict[str, str] = {
    "hookimpl": "attractor_core.plugins",
    "DeferredHandler": "attractor_core.registry",
    **dict.fromkeys(("CodergenBackend", "EventSink", "Handler", "Interviewer", "LintRule",
                     "StageRun", "StatusSource", "Transform"), "attractor_core.protocols"),
    **dict.fromkeys(("Context", "Duration", "Edge", "FailureClass", "Graph", "Node", "Outcome",
                     "StageStatus", "ValueFormatError"), "attractor_core.model"),
    **dict.fromkeys(("Event", "Warning"), "attractor_core.runtime.events"),
    **dict.fromkeys(("write_bytes_atomic", "write_json_atomic", "write_text_atomic"),
                    "attractor_core.runtime.atomic"),
    **dict.fromkeys(("kill_grace_seconds", "run_in_group"), "attractor_core.process_group"),
    "stage_environment": "attractor_core.engine.stage_run",
    **dict.fromkeys(("Answer", "AnswerValue", "Option", "Question", "QuestionType"),
                    "attractor_core.human"),
    **dict.fromkeys(("Diagnostic", "Severity", "ValidationError"),
                    "attractor_core.validation.diagnostics"),
    **dict.fromkeys(("AttractorError", "InputError", "RunError", "UsageError"),
                    "attractor_core.errors"),
    "ParseError": "attractor_core.dot.errors",
}

__all__ = [
    "Answer",
    "AnswerValue",
    "AttractorError",
    "CodergenBackend",
    "Context",
    "DeferredHandler",
    "Diagnostic",
    "Duration",
    "Edge",
    "Event",
    "EventSink",
    "FailureClass",
    "Graph",
    "Handler",
    "InputError",
    "Interviewer",
    "LintRule",
    "Node",
    "Option",
    "Outcome",
    "ParseError",
    "Question",
    "QuestionType",
    "RunError",
    "Severity",
    "StageRun",
    "StageStatus",
    "StatusSource",
    "Transform",
    "UsageError",
    "ValidationError",
    "ValueFormatError",
    "Warning",
    "hookimpl",
    "kill_grace_seconds",
    "run_in_group",
    "stage_environment",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'attractor_core.sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
