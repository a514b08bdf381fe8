"""The plugin SDK: the one module a plugin author imports.

Everything a handler, policy, status source, event sink, lint rule,
transform, codergen backend or interviewer may use is re-exported here, and
nothing else is promised: other kernel modules can change between releases.
The built-in handlers and plugins import nothing else from the kernel either.
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
    ``Interviewer``, ``BackendPreflight``, ``NodePreflight``,
    ``RunWorkspace``; ``RunSettings`` and ``PreflightSettings`` (what a run
    and its preflight are given).
The model
    ``Graph``, ``Node``, ``Edge``, ``Outcome``, ``StageStatus``,
    ``FailureClass``, ``Context``, ``Duration``, ``parse_outcome``,
    ``is_custom_outcome``, ``normalize_failure_class`` (a failure-class hint
    to its canonical value, as the engine reads it), ``to_str_tuple``,
    ``BranchResult``, ``BranchFailure``, ``FanOutReport`` (a fan-out's
    branches), ``Record`` (the base of the frozen value classes that short
    commands load: subclass it for a plugin's own, without attrs) and
    ``evolve`` (a copy with some fields changed, for records and attrs classes).
Pipelines
    ``parse_file``, ``parse_condition``, ``evaluate_condition``,
    ``is_start``, ``is_exit``, ``select_unconditional`` and
    ``failure_retry_target`` (the engine's edge selection and retry targets),
    ``Route``, ``FIDELITY_MODES``.
Attributes
    ``AttributeSpec`` (one declared attribute), ``GRAPH`` (the schema key of
    graph attributes).
Events
    ``Event`` (the base of typed events: a frozen attrs class with a ``name``
    class variable), ``Warning``; send one with ``run.emit(event)``. A plugin
    defines its own events in its package and declares them through the
    ``attractor_event_types`` hook (docs/events.md).
Files and processes
    ``write_bytes_atomic``, ``write_text_atomic``, ``write_json_atomic`` (the
    one atomic-write primitive), ``read_json_object`` (a JSON object file, or
    None when it is missing, torn or not an object), ``run_in_group`` and ``kill_grace_seconds``
    (run a command in its own process group, stopped as a whole on
    cancellation), ``terminate_group``, ``GroupTable``,
    ``stage_environment`` (the ``ATTRACTOR_*`` variables of a stage),
    ``utc_now_iso`` (the artifacts' timestamp form).
Run artifacts
    ``FinalRecord`` and ``read_final``, ``load_checkpoint``, ``RunLock``,
    ``write_status_file``, ``report_status`` (an in-process handler's
    status.json without the file round trip), ``CanonicalSource`` (the stage
    dir's own status file), ``CONVERTER``, ``compact_json`` and ``compact_json_bytes`` (the
    JSON forms of the attrs value classes; an event line's bytes), ``read_run_status``
    and ``RunStatus`` (a run's state from its artifacts, what ``attractor status``
    prints), ``read_events`` (the complete events of a progress.ndjson, or its last ones).
Human gates
    ``Question``, ``QuestionType``, ``Option``, ``Answer``, ``AnswerValue``.
Lint rules
    ``Diagnostic``, ``Severity``, ``FunctionRule`` (a rule from a function),
    ``node_value_errors`` (``attribute_value`` errors for node attributes whose
    value a checker rejects).
Executors (where parallel branches and sub-pipelines run: ``attractor_executors``)
    ``Executor`` (the interface), ``BranchWork`` (one branch to run, picklable),
    ``run_branch_work`` (run it here, in a ``trio.run`` of its own: an executor's
    remote side), ``ChildWork`` and ``run_child_work`` (the same for one
    sub-pipeline), ``request_stop`` (ask a running branch or child to stop),
    ``WorkerLostError`` (raise it when the process running a unit died),
    ``stop_branch_orphans`` (on the dead worker's host: stop the process groups
    it left running for a branch).
Errors
    ``AttractorError``, ``InputError``, ``UsageError``, ``ParseError``,
    ``ValidationError``, ``ValueFormatError``, ``RunError``,
    ``OutcomeTokenError``, ``ConditionSyntaxError``, ``CheckpointError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attractor_core.attributes import GRAPH, AttributeSpec
    from attractor_core.conditions import ConditionSyntaxError, evaluate_condition, parse_condition
    from attractor_core.dot import parse_file
    from attractor_core.dot.errors import ParseError
    from attractor_core.edge_selection import Route, failure_retry_target, select_unconditional
    from attractor_core.engine.remote import run_branch_work, stop_branch_orphans
    from attractor_core.engine.remote_child import run_child_work
    from attractor_core.engine.stage_run import stage_environment
    from attractor_core.errors import AttractorError, InputError, RunError, UsageError
    from attractor_core.executors import (
        BranchWork,
        ChildWork,
        Executor,
        WorkerLostError,
        request_stop,
    )
    from attractor_core.human import Answer, AnswerValue, Option, Question, QuestionType
    from attractor_core.model import (
        Context,
        Duration,
        Edge,
        FailureClass,
        Graph,
        Node,
        Outcome,
        OutcomeTokenError,
        StageStatus,
        ValueFormatError,
        parse_outcome,
    )
    from attractor_core.model.branch import BranchResult
    from attractor_core.model.fan_out import BranchFailure, FanOutReport
    from attractor_core.model.status import is_custom_outcome, normalize_failure_class
    from attractor_core.model.values import to_str_tuple
    from attractor_core.plugins import hookimpl
    from attractor_core.process_group import (
        GroupTable,
        kill_grace_seconds,
        run_in_group,
        terminate_group,
    )
    from attractor_core.protocols import (
        BackendPreflight,
        CodergenBackend,
        EventSink,
        Handler,
        Interviewer,
        LintRule,
        NodePreflight,
        PreflightSettings,
        RunSettings,
        RunWorkspace,
        StageRun,
        StatusSource,
        Transform,
    )
    from attractor_core.records import Record, evolve
    from attractor_core.registry import DeferredHandler
    from attractor_core.runtime.atomic import (
        read_json_object,
        write_bytes_atomic,
        write_json_atomic,
        write_text_atomic,
    )
    from attractor_core.runtime.checkpoint import CheckpointError, load_checkpoint
    from attractor_core.runtime.clock import utc_now_iso
    from attractor_core.runtime.events import Event, Warning
    from attractor_core.runtime.final import FinalRecord, read_final
    from attractor_core.runtime.json_text import compact_json, compact_json_bytes
    from attractor_core.runtime.lock import RunLock
    from attractor_core.runtime.run_status import RunStatus, read_events, read_run_status
    from attractor_core.runtime.serialization import CONVERTER
    from attractor_core.runtime.status_files import (
        CanonicalSource,
        report_status,
        write_status_file,
    )
    from attractor_core.validation.builtin_rules import FunctionRule
    from attractor_core.validation.diagnostics import Diagnostic, Severity, ValidationError
    from attractor_core.validation.rules import (
        FIDELITY_MODES,
        is_exit,
        is_start,
        node_value_errors,
    )

# name -> the module that defines it
_SOURCES: dict[str, str] = {
    "hookimpl": "attractor_core.plugins",
    "DeferredHandler": "attractor_core.registry",
    **dict.fromkeys(("BackendPreflight", "CodergenBackend", "EventSink", "Handler", "Interviewer",
                    "LintRule", "NodePreflight", "PreflightSettings", "RunSettings", "RunWorkspace",
                    "StageRun", "StatusSource", "Transform"),
                    "attractor_core.protocols"),
    **dict.fromkeys(("Context", "Duration", "Edge", "FailureClass", "Graph", "Node", "Outcome",
                    "OutcomeTokenError", "StageStatus", "ValueFormatError", "parse_outcome"),
                    "attractor_core.model"),
    **dict.fromkeys(("is_custom_outcome", "normalize_failure_class"),
                    "attractor_core.model.status"),
    **dict.fromkeys(("Record", "evolve"), "attractor_core.records"),
    "to_str_tuple": "attractor_core.model.values",
    "BranchResult": "attractor_core.model.branch",
    **dict.fromkeys(("BranchFailure", "FanOutReport"), "attractor_core.model.fan_out"),
    **dict.fromkeys(("AttributeSpec", "GRAPH"), "attractor_core.attributes"),
    "parse_file": "attractor_core.dot",
    "ParseError": "attractor_core.dot.errors",
    **dict.fromkeys(("ConditionSyntaxError", "evaluate_condition", "parse_condition"),
                    "attractor_core.conditions"),
    **dict.fromkeys(("Route", "failure_retry_target", "select_unconditional"),
                    "attractor_core.edge_selection"),
    **dict.fromkeys(("Event", "Warning"), "attractor_core.runtime.events"),
    **dict.fromkeys(("read_json_object", "write_bytes_atomic", "write_json_atomic",
                     "write_text_atomic"),
                    "attractor_core.runtime.atomic"),
    "utc_now_iso": "attractor_core.runtime.clock",
    "CONVERTER": "attractor_core.runtime.serialization",
    **dict.fromkeys(("compact_json", "compact_json_bytes"), "attractor_core.runtime.json_text"),
    **dict.fromkeys(("CanonicalSource", "report_status", "write_status_file"),
                    "attractor_core.runtime.status_files"),
    **dict.fromkeys(("CheckpointError", "load_checkpoint"), "attractor_core.runtime.checkpoint"),
    **dict.fromkeys(("FinalRecord", "read_final"), "attractor_core.runtime.final"),
    "RunLock": "attractor_core.runtime.lock",
    **dict.fromkeys(("RunStatus", "read_events", "read_run_status"),
                    "attractor_core.runtime.run_status"),
    **dict.fromkeys(("GroupTable", "kill_grace_seconds", "run_in_group", "terminate_group"),
                    "attractor_core.process_group"),
    "stage_environment": "attractor_core.engine.stage_run",
    **dict.fromkeys(("BranchWork", "ChildWork", "Executor", "WorkerLostError",
                     "request_stop"), "attractor_core.executors"),
    **dict.fromkeys(("run_branch_work", "stop_branch_orphans"), "attractor_core.engine.remote"),
    "run_child_work": "attractor_core.engine.remote_child",
    **dict.fromkeys(("Answer", "AnswerValue", "Option", "Question", "QuestionType"),
                    "attractor_core.human"),
    **dict.fromkeys(("Diagnostic", "Severity", "ValidationError"),
                    "attractor_core.validation.diagnostics"),
    "FunctionRule": "attractor_core.validation.builtin_rules",
    **dict.fromkeys(("FIDELITY_MODES", "is_exit", "is_start", "node_value_errors"),
                  "attractor_core.validation.rules"),
    **dict.fromkeys(("AttractorError", "InputError", "RunError", "UsageError"),
                    "attractor_core.errors"),
}

__all__ = [
    "CONVERTER",
    "FIDELITY_MODES",
    "GRAPH",
    "Answer",
    "AnswerValue",
    "AttractorError",
    "AttributeSpec",
    "BackendPreflight",
    "BranchFailure",
    "BranchResult",
    "BranchWork",
    "CanonicalSource",
    "CheckpointError",
    "ChildWork",
    "CodergenBackend",
    "ConditionSyntaxError",
    "Context",
    "DeferredHandler",
    "Diagnostic",
    "Duration",
    "Edge",
    "Event",
    "EventSink",
    "Executor",
    "FailureClass",
    "FanOutReport",
    "FinalRecord",
    "FunctionRule",
    "Graph",
    "GroupTable",
    "Handler",
    "InputError",
    "Interviewer",
    "LintRule",
    "Node",
    "NodePreflight",
    "Option",
    "Outcome",
    "OutcomeTokenError",
    "ParseError",
    "PreflightSettings",
    "Question",
    "QuestionType",
    "Record",
    "Route",
    "RunError",
    "RunLock",
    "RunSettings",
    "RunStatus",
    "RunWorkspace",
    "Severity",
    "StageRun",
    "StageStatus",
    "StatusSource",
    "Transform",
    "UsageError",
    "ValidationError",
    "ValueFormatError",
    "Warning",
    "WorkerLostError",
    "compact_json",
    "compact_json_bytes",
    "evaluate_condition",
    "evolve",
    "failure_retry_target",
    "hookimpl",
    "is_custom_outcome",
    "is_exit",
    "is_start",
    "kill_grace_seconds",
    "load_checkpoint",
    "node_value_errors",
    "normalize_failure_class",
    "parse_condition",
    "parse_file",
    "parse_outcome",
    "read_events",
    "read_final",
    "read_json_object",
    "read_run_status",
    "report_status",
    "request_stop",
    "run_branch_work",
    "run_child_work",
    "run_in_group",
    "select_unconditional",
    "stage_environment",
    "stop_branch_orphans",
    "terminate_group",
    "to_str_tuple",
    "utc_now_iso",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_status_file",
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
