"""The exception tree of the attractor kernel.

    AttractorError
    ├── UsageError          bad input found before a run starts (CLI exit 2)
    │   └── LockHeldError   another live process owns the logs root
    └── (runtime failures never raise: they end the run with final.json)

``ParseError`` (attractor_core.dot) and ``ValidationError``
(attractor_core.validation) are also input errors; the CLI maps all of
them to exit code 2.
"""

from __future__ import annotations


class AttractorError(Exception):
    """Base of every error the kernel raises on purpose."""


class UsageError(AttractorError):
    """The request cannot be honoured as given; the message says what to do."""
