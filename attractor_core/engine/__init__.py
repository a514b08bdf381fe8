"""The trio engine: run and resume pipelines.

``run_pipeline`` and ``resume_pipeline`` are loaded on first use, so that
importing one engine module (``engine.retry`` for its presets, say) does not
load the whole engine and trio with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attractor_core.engine.api import run_pipeline
    from attractor_core.engine.resume import resume_pipeline

_EXPORTS = {
    "run_pipeline": "attractor_core.engine.api",
    "resume_pipeline": "attractor_core.engine.resume",
}

__all__ = ["resume_pipeline", "run_pipeline"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'attractor_core.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
