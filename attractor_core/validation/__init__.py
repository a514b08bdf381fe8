"""Validation and linting (spec §7): diagnostics, rules and ``validate``."""

from attractor_core.validation.diagnostics import Diagnostic, Severity, ValidationError
from attractor_core.validation.validate import validate, validate_or_raise

__all__ = ["Diagnostic", "Severity", "ValidationError", "validate", "validate_or_raise"]
