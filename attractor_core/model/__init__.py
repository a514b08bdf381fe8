"""The value model: graph, typed values, outcomes and the run context.

Names load on first use: ``attractor validate`` needs the graph but not the
outcome and context classes the engine builds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attractor_core.model.context import Context
    from attractor_core.model.graph import DEFAULT_HANDLER_TYPE, SHAPE_TO_TYPE, Edge, Graph, Node
    from attractor_core.model.outcome import Outcome
    from attractor_core.model.status import (
        FailureClass,
        OutcomeTokenError,
        StageStatus,
        outcome_passes,
        parse_outcome,
    )
    from attractor_core.model.values import Duration, ValueFormatError

_SOURCES = {
    "Context": "context",
    "DEFAULT_HANDLER_TYPE": "graph",
    "SHAPE_TO_TYPE": "graph",
    "Edge": "graph",
    "Graph": "graph",
    "Node": "graph",
    "FailureClass": "status",
    "Outcome": "outcome",
    "OutcomeTokenError": "status",
    "StageStatus": "status",
    "outcome_passes": "status",
    "parse_outcome": "status",
    "Duration": "values",
    "ValueFormatError": "values",
}

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


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'attractor_core.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"attractor_core.model.{source}"), name)
    globals()[name] = value
    return value
