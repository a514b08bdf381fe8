"""The edge condition language (spec §10): ``key=value`` clauses joined by ``&&``.

A condition is parsed once into a frozen :class:`Condition` (parsing is
memoised, because the engine evaluates every outgoing edge at every step)
and then evaluated against an outcome and the run context.

Keys: ``outcome`` (the status, lowercase: ``success``, ``fail``..., or a
custom outcome such as ``needs_dod``),
``preferred_label``, ``context.PATH`` (looked up as ``context.PATH``, then
as ``PATH``) and any other bare key, looked up in the context as is (spec
§10.4). Edge conditions must stick to the grammar of §10.2, which has no
bare keys: :func:`foreign_keys` finds them for the ``condition_key`` lint,
since ``outcom=success`` would otherwise never be true. A missing value
is the empty string. Operators: ``=`` and ``!=``; a clause
that is a bare key is true when its value is non-empty. Comparison is
exact and case-sensitive; booleans in the context compare as ``true`` /
``false``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from attractor_core.errors import AttributeSyntaxError
from attractor_core.records import Record

if TYPE_CHECKING:
    from attractor_core.model import Context, Outcome

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_BARE_LITERAL = re.compile(r"[A-Za-z0-9_.:\-+/]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_UNSUPPORTED_OPERATORS = ("==", "||", ">=", "<=", "=~", ">", "<", "!")


class ConditionSyntaxError(AttributeSyntaxError):
    """A condition does not follow the grammar of spec §10.2.

    ``str(error)`` names the condition, the offending clause and what to write instead.
    """

    def __init__(self, condition: str, problem: str, hint: str):
        self.condition = condition
        self.problem = problem
        self.hint = hint
        super().__init__(f"invalid condition {condition!r}: {problem}; {hint}")


class Clause(Record):
    """One comparison. ``op`` is ``=``, ``!=`` or ``truthy`` (a bare key)."""

    __match_args__ = __slots__ = ("key", "op", "literal")
    key: str
    op: str
    literal: str

    def __init__(self, key: str, op: str, literal: str = "") -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "literal", literal)

    def holds(self, outcome: Outcome | None, context: Context) -> bool:
        value = resolve_key(self.key, outcome, context)
        if self.op == "=":
            return value == self.literal
        if self.op == "!=":
            return value != self.literal
        return value != ""


class Condition(Record):
    """A parsed condition: all clauses must hold. No clauses means always true."""

    __match_args__ = __slots__ = ("text", "clauses")
    text: str
    clauses: tuple[Clause, ...]

    def __init__(self, text: str, clauses: tuple[Clause, ...] = ()) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "clauses", clauses)

    def holds(self, outcome: Outcome | None, context: Context) -> bool:
        return all(clause.holds(outcome, context) for clause in self.clauses)


ROUTING_KEYS: tuple[str, ...] = ("outcome", "preferred_label")


def foreign_keys(condition: Condition) -> list[str]:
    """The keys of ``condition`` outside spec §10.2: neither a routing key nor ``context.*``."""
    return [c.key for c in condition.clauses
            if c.key not in ROUTING_KEYS and not c.key.startswith("context.")]


@functools.lru_cache(maxsize=4096)
def parse_condition(text: str) -> Condition:
    """Parse ``text``; raises :class:`ConditionSyntaxError`. An empty text is always true."""
    if not text.strip():
        return Condition(text)
    parts = text.split("&&")
    clauses = tuple(_parse_clause(text, part) for part in parts)
    return Condition(text, clauses)


def evaluate_condition(cond: str | Condition, outcome: Outcome | None, context: Context) -> bool:
    """True when every clause of ``cond`` holds; an empty condition is true."""
    parsed = parse_condition(cond) if isinstance(cond, str) else cond
    return parsed.holds(outcome, context)


def resolve_key(key: str, outcome: Outcome | None, context: Context) -> str:
    """The string value of ``key`` (spec §10.4); missing values are ``""``."""
    if key == "outcome":
        return outcome.name if outcome is not None else ""
    if key == "preferred_label":
        return outcome.preferred_label if outcome is not None else ""
    value = context.get(key)
    if value is None and key.startswith("context."):
        value = context.get(key[len("context.") :])
    return _as_text(value)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        # Python would write "True"; conditions are written ``context.x=true``.
        return "true" if value else "false"
    return str(value)


def _parse_clause(condition: str, raw: str) -> Clause:
    clause = raw.strip()
    if not clause:
        raise ConditionSyntaxError(
            condition, "empty clause around '&&'", "write key=value on both sides of '&&'"
        )
    if "!=" in clause:
        key, literal = clause.split("!=", 1)
        return Clause(_check_key(condition, key), "!=", _parse_literal(condition, literal))
    _reject_unsupported(condition, clause)
    if "=" in clause:
        key, literal = clause.split("=", 1)
        return Clause(_check_key(condition, key), "=", _parse_literal(condition, literal))
    return Clause(_check_key(condition, clause), "truthy")


def _reject_unsupported(condition: str, clause: str) -> None:
    for operator in _UNSUPPORTED_OPERATORS:
        if operator in clause:
            raise ConditionSyntaxError(
                condition,
                f"operator {operator!r} is not supported",
                "use '=' or '!=' and join clauses with '&&' (spec §10.2)",
            )


def _check_key(condition: str, raw: str) -> str:
    key = raw.strip()
    if not key:
        raise ConditionSyntaxError(
            condition,
            "a clause has no key",
            "write outcome=..., preferred_label=... or context.KEY=...",
        )
    if not _KEY.fullmatch(key):
        raise ConditionSyntaxError(
            condition,
            f"{key!r} is not a valid key",
            "keys are outcome, preferred_label, context.NAME or a bare NAME "
            "(letters, digits, _ and .)",
        )
    return key


def _parse_literal(condition: str, raw: str) -> str:
    literal = raw.strip()
    if not literal:
        # ``context.x=`` compares with the empty string, which is meaningful.
        return ""
    quoted = _QUOTED.fullmatch(literal)
    if quoted:
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), quoted.group(1))
    if not _BARE_LITERAL.fullmatch(literal):
        raise ConditionSyntaxError(
            condition,
            f"value {literal!r} is not a valid literal",
            'quote values that contain spaces or symbols, e.g. context.x="two words"',
        )
    return literal
