"""attractor: a reliable runner for Attractor DOT pipelines.

The public Python API, re-exported here and loaded on first use so that
``import attractor_core`` stays cheap::

    import trio
    import attractor_core as at

    graph = at.load_pipeline("pipeline.dot", at.make_plugin_manager())
    final = trio.run(at.run_pipeline, "pipeline.dot")
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run_pipeline": "attractor_core.engine",
    "resume_pipeline": "attractor_core.engine",
    "parse_dot": "attractor_core.dot",
    "parse_file": "attractor_core.dot",
    "ParseError": "attractor_core.dot",
    "prepare_pipeline": "attractor_core.pipeline",
    "load_pipeline": "attractor_core.pipeline",
    "validate": "attractor_core.validation",
    "validate_or_raise": "attractor_core.validation",
    "Diagnostic": "attractor_core.validation",
    "ValidationError": "attractor_core.validation",
    "make_plugin_manager": "attractor_core.plugins",
    "hookimpl": "attractor_core.plugins",
    "Graph": "attractor_core.model",
    "Node": "attractor_core.model",
    "Edge": "attractor_core.model",
    "Outcome": "attractor_core.model",
    "StageStatus": "attractor_core.model",
    "Context": "attractor_core.model",
    "Duration": "attractor_core.model",
    "FinalRecord": "attractor_core.runtime.final",
    "AttractorError": "attractor_core.errors",
    "AttributeSyntaxError": "attractor_core.errors",
    "InputError": "attractor_core.errors",
    "RunError": "attractor_core.errors",
    "UsageError": "attractor_core.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'attractor_core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
