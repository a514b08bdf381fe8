"""The value model: graph, typed values, outcomes and the run context."""

from attractor_core.model.context import Context
from attractor_core.model.graph import SHAPE_TO_TYPE, Edge, Graph, Node
from attractor_core.model.outcome import FailureClass, Outcome, StageStatus
from attractor_core.model.values import Duration, ValueFormatError

__all__ = [
    "SHAPE_TO_TYPE",
    "Context",
    "Duration",
    "Edge",
    "FailureClass",
    "Graph",
    "Node",
    "Outcome",
    "StageStatus",
    "ValueFormatError",
]
