"""The exception tree of the attractor kernel.

Every exception the kernel raises on purpose derives from ``AttractorError``,
so ``except attractor_core.AttractorError`` catches all of them and nothing
else. Each class lives next to the code that raises it; the bases live here::

    AttractorError                    base of every error the kernel raises on purpose
    ├── InputError                    bad input found before a run starts (CLI exit 2)
    │   ├── UsageError                the request cannot be honoured as given
    │   │   ├── LockHeldError         another live process owns the logs root (runtime.lock)
    │   │   ├── PreflightError        some nodes cannot run as configured (engine.preflight)
    │   │   └── PluginLoadError       a plugin cannot load or misfits the hooks (entry_points)
    │   ├── ParseError                a DOT source is not a pipeline; file, line, column (dot)
    │   └── ValidationError           a pipeline has error diagnostics (validation)
    ├── TransformError                a custom transform raised or returned a non-Graph (transforms)
    ├── AttributeSyntaxError          an attribute's own little language is malformed (ValueError)
    │   ├── ValueFormatError          a typed value: duration, integer, boolean... (model)
    │   ├── ConditionSyntaxError      an edge condition (conditions)
    │   ├── OutcomeTokenError         an outcome word written by a stage (model)
    │   └── StylesheetSyntaxError     a model stylesheet (stylesheet)
    └── RunError                      a run's own records or wiring cannot be used
        ├── ArtifactWriteError        one of the run's own files cannot be written (runtime.atomic)
        ├── CheckpointError           checkpoint.json is missing or unreadable (runtime.checkpoint)
        ├── StatusFileError           a stage's status.json is malformed (runtime.status_files)
        ├── UnknownHandlerError       no plugin handles a node's type (registry)
        └── WorkerLostError           the process running a remote branch died (executors)

The CLI turns an ``InputError`` into one line on stderr and exit code 2.
A stage or run that fails while running does not raise: it ends with a
failed outcome and ``final.json``. ``RunError`` subclasses are raised to the
engine, which turns them into such outcomes, and to readers of a run
directory (``attractor status``, resume). Where a class was a ``ValueError``
or ``LookupError`` it still is, so existing handlers keep working.
Programming errors (a plugin passing a non-event to ``emit``) stay
``TypeError``: they are bugs to fix, not conditions to handle.
"""

from __future__ import annotations


class AttractorError(Exception):
    """Base of every error the kernel raises on purpose."""


class InputError(AttractorError):
    """Bad input found before a run starts; the message says where and what to do."""


class UsageError(InputError):
    """The request cannot be honoured as given; the message says what to do."""


class AttributeSyntaxError(AttractorError, ValueError):
    """An attribute value written in one of the pipeline's small languages is malformed."""


class RunError(AttractorError):
    """A run's own records (checkpoint, status files) or wiring (handlers) cannot be used."""
