"""The trio engine: run and resume pipelines."""

from attractor_core.engine.api import run_pipeline
from attractor_core.engine.resume import resume_pipeline

__all__ = ["resume_pipeline", "run_pipeline"]
