"""The value model: graph, typed values, outcomes and the run context."""

from attractor_core.model.context import Context
from attractor_core.model.graph import DEFAULT_HANDLER_TYPE, SHAPE_TO_TYPE, Edge, Graph, Node
from attractor_core.model.outcome import (
    FailureClass,
    Outcome,
    OutcomeTokenError,
    StageStatus,
    outcome_passes,
    parse_outcome,
)
from attractor_core.model.values import Duration, ValueFormatError

__all__ = [
    "DEFAULT_HANDLER_TYPE",
    "SHAPE_TO_TYPE",
    "Context",
    "Duration",
    "Edge",
    "FailureClass",
    "Graph",
    "Node",
    "Outcome",
    "OutcomeTokenError",
    "StageStatus",
    "ValueFormatError",
    "outcome_passes",
    "parse_outcome",
]
