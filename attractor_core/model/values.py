"""Typed attribute values: durations, integers, floats and booleans.

DOT attributes are stored verbatim as strings; these functions give them a
type at the point of use, so an unknown or extension attribute is never
rejected at parse time and a typed one is converted in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from attractor_core.errors import AttributeSyntaxError
from attractor_core.records import Record

_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.?\d*|\.\d+)")


class ValueFormatError(AttributeSyntaxError):
    """An attribute value does not have the type its attribute requires."""


class Duration(Record):
    """An exact, non-negative time span in whole milliseconds, ordered by length.

    ``Duration.parse("15m")`` is 900 seconds, never 15: the unit always
    comes from the suffix, and a bare integer means seconds.
    """

    __match_args__ = __slots__ = ("ms",)
    ms: int

    def __init__(self, ms: int) -> None:
        if ms < 0:
            raise ValueFormatError(f"invalid duration: {ms} ms is negative")
        object.__setattr__(self, "ms", ms)

    def __lt__(self, other: Duration) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.ms < other.ms

    def __le__(self, other: Duration) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.ms <= other.ms

    def __gt__(self, other: Duration) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.ms > other.ms

    def __ge__(self, other: Duration) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.ms >= other.ms

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``250ms``, ``900s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or bare seconds."""
        raw = text.strip()
        if re.fullmatch(r"\d+", raw):
            return cls(int(raw) * 1_000)
        pos, total = 0, 0
        for match in _DURATION_PART.finditer(raw):
            if match.start() != pos:
                break
            total += int(match.group(1)) * _UNIT_MS[match.group(2)]
            pos = match.end()
        if pos == 0 or pos != len(raw):
            raise ValueFormatError(
                f"invalid duration {text!r}: use an integer with a unit "
                "(250ms, 900s, 15m, 2h, 1d) or bare seconds"
            )
        return cls(total)

    @classmethod
    def of_seconds(cls, seconds: float) -> Duration:
        return cls(round(seconds * 1_000))

    @property
    def seconds(self) -> float:
        return self.ms / 1_000

    def __str__(self) -> str:
        """Go-style rendering: ``15m0s``, ``1h0m0s``, ``250ms``, ``2.5s``."""
        if self.ms < 1_000:
            return f"{self.ms}ms"
        hours, rest = divmod(self.ms, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        secs = f"{rest / 1_000:g}s"
        if hours:
            return f"{hours}h{minutes}m{secs}"
        if minutes:
            return f"{minutes}m{secs}"
        return secs


def parse_int(text: str) -> int:
    if not _INT.fullmatch(text.strip()):
        raise ValueFormatError(f"invalid integer {text!r}")
    return int(text.strip())


def parse_float(text: str) -> float:
    if not _FLOAT.fullmatch(text.strip()):
        raise ValueFormatError(f"invalid number {text!r}")
    return float(text.strip())


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0", ""):
        return False
    raise ValueFormatError(f"invalid boolean {text!r}: use true or false")


def to_str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    """attrs converter: any iterable of strings becomes an immutable tuple."""
    return tuple(items)
