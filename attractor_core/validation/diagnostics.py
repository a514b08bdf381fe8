"""The diagnostic model (spec §7.1) and ``ValidationError``.

A :class:`Diagnostic` names its rule, severity, the node or edge it is
about, where in the file it points and what to do about it. A pipeline
with any ``error`` diagnostic must not run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any

from attractor_core.errors import InputError
from attractor_core.records import Record


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def _severity(value: Severity | str) -> Severity:
    """``Severity(value)``, skipping the enum lookup for a member (the usual case: a large
    pipeline can have a diagnostic per node)."""
    return value if isinstance(value, Severity) else Severity(value)


class Diagnostic(Record):
    """One finding. ``line`` 0 means unknown; ``edge`` is ``(source, target)`` or ``None``."""

    __match_args__ = __slots__ = (
        "rule", "severity", "message", "node_id", "edge", "fix", "file", "line",
    )
    rule: str
    severity: Severity
    message: str
    node_id: str
    edge: tuple[str, str] | None
    fix: str
    file: str
    line: int

    def __init__(self, rule: str, severity: Severity | str, message: str = "",
                 node_id: str = "", edge: tuple[str, str] | None = None, fix: str = "",
                 file: str = "", line: int = 0) -> None:
        setter = object.__setattr__
        setter(self, "rule", rule)
        # Plugins may write "warning"; an unknown word raises here, inside the rule, which
        # validation then reports as a broken rule.
        setter(self, "severity", _severity(severity))
        setter(self, "message", message)
        setter(self, "node_id", node_id)
        setter(self, "edge", edge)
        setter(self, "fix", fix)
        setter(self, "file", file)
        setter(self, "line", line)

    def located(self, file: str) -> Diagnostic:
        """This diagnostic pointing into ``file`` (``evolve(self, file=file)`` at half the
        cost: validation locates every diagnostic, and a large pipeline can have one per
        node). Keep it in step with the fields above."""
        return Diagnostic(self.rule, self.severity, self.message, self.node_id, self.edge,
                          self.fix, file, self.line)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """``FILE:LINE: SEVERITY RULE: message``, then the fix on an indented line."""
        where = f"{self.file or '<string>'}:{self.line}"
        text = f"{where}: {self.severity.value} {self.rule}: {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "node_id": self.node_id,
            "edge": list(self.edge) if self.edge is not None else None,
            "fix": self.fix,
        }


def errors_in(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.is_error]


class ValidationError(InputError):
    """A pipeline has error-severity diagnostics; ``str()`` lists each one with its fix."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        self.errors = tuple(errors_in(self.diagnostics))
        count = len(self.errors)
        lines = [f"pipeline is invalid ({count} error{'s' if count != 1 else ''}):"]
        lines += [d.format() for d in self.errors]
        super().__init__("\n".join(lines))
