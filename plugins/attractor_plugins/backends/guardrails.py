"""Tool-contract guardrails (kilroy-liveness §8): what a tool may be, and what a call may carry.

At definition time a bad tool is a :class:`ToolContractError` (a programming
or configuration mistake). At call time nothing raises into the agent loop:
an unknown tool, arguments that are not JSON, or arguments that break the
tool's schema become a :class:`CallRejected` that the loop turns into an
error tool result for the model to read and correct. :class:`RepeatGuard`
ends a session that keeps sending the same broken calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from attrs import field, frozen
from jsonschema import Draft202012Validator

MAX_TOOL_NAME = 64
REPEAT_LIMIT = 3
REASON_CHARS = 300  # of the repeated error, quoted in the stage's failure reason
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]")
_EMPTY_OBJECT: Mapping[str, Any] = {"type": "object", "properties": {}}


class ToolContractError(ValueError):
    """A tool definition that no provider can accept (bad name or parameter schema)."""


class CallRejected(Exception):
    """A tool call the loop must answer with an error result, never run.

    ``malformed`` is true for calls the model got wrong in form (unknown
    tool, bad JSON, schema violation), false for a tool that ran and failed.
    """

    def __init__(self, message: str, *, malformed: bool = True):
        super().__init__(message)
        self.message = message
        self.malformed = malformed


def check_tool_name(name: str) -> str:
    """``name`` if it is letters, digits and underscore, starts with a letter, ≤ 64 chars."""
    if not name:
        raise ToolContractError("tool name is required")
    if len(name) > MAX_TOOL_NAME:
        raise ToolContractError(f"tool name too long: {len(name)} > {MAX_TOOL_NAME}")
    if not ("a" <= name[0].lower() <= "z"):
        raise ToolContractError(f"invalid tool name {name!r}: must start with a letter")
    for char in name:
        if not (char.isascii() and _NAME_CHARS.fullmatch(char)):
            raise ToolContractError(f"invalid tool name {name!r}: invalid character {char!r}")
    return name


def compile_parameters(name: str, schema: Mapping[str, Any] | None) -> Draft202012Validator:
    """Check the schema once (root ``type: object``, valid Draft 2020-12) and compile it."""
    schema = _EMPTY_OBJECT if schema is None else schema
    root = schema.get("type") if isinstance(schema, Mapping) else None
    if not isinstance(root, str) or root.lower() != "object":
        got = "no type" if root is None else repr(root)
        raise ToolContractError(
            f"tool {name}: parameters must have type=object at the schema root; got {got}")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ToolContractError(f"tool {name}: invalid parameter schema: {exc.message}") from None
    return Draft202012Validator(dict(schema), format_checker=Draft202012Validator.FORMAT_CHECKER)


@frozen
class ToolContract:
    """A checked tool definition; build it with :meth:`define`."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    validator: Draft202012Validator = field(eq=False, repr=False)

    @classmethod
    def define(cls, name: str, description: str,
               parameters: Mapping[str, Any] | None) -> ToolContract:
        name = check_tool_name(name)
        validator = compile_parameters(name, parameters)
        return cls(name, description, dict(validator.schema), validator)

    def arguments(self, raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
        """The call's arguments as a dict, or :class:`CallRejected` saying what is wrong."""
        value = _decode_arguments(raw)
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(_describe(e) for e in errors[:5])
            raise CallRejected(f"tool args schema validation failed for {self.name}: {detail}")
        return value


def _decode_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise CallRejected(f"invalid tool arguments JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CallRejected(
            f"invalid tool arguments JSON: expected an object, got {type(value).__name__}")
    return value


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.path)
    return f"{where}: {error.message}" if where else error.message


@frozen
class RoundError:
    """One errored call of a round, as the guard fingerprints it."""

    tool: str
    message: str
    malformed: bool


class RepeatGuard:
    """Counts consecutive identical rounds in which every call errored.

    A round with any successful call resets the count. When ``limit``
    identical rounds follow each other, :meth:`observe` returns the reason
    the session must end (classed ``deterministic`` by the backend).
    """

    def __init__(self, limit: int = REPEAT_LIMIT):
        self.limit = limit
        self._last: list[tuple[tuple[str, str], ...]] = []

    def observe(self, errors: Sequence[RoundError], calls: int) -> str:
        if calls == 0 or len(errors) < calls:
            self._last.clear()
            return ""
        fingerprint = tuple(sorted((e.tool, e.message) for e in errors))
        if self._last and self._last[-1] != fingerprint:
            self._last.clear()
        self._last.append(fingerprint)
        if len(self._last) < self.limit:
            return ""
        kind = "malformed" if all(e.malformed for e in errors) else "failing"
        first = errors[0]
        return (f"repeated {kind} tool calls detected (repeats={len(self._last)} "
                f"limit={self.limit}): {first.tool}: {first.message[:REASON_CHARS]}")
