"""What a tool is: a checked contract, an async executor and its output limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from attrs import frozen

from ..guardrails import ToolContract
from .workspace import Workspace


class ToolFailure(Exception):
    """The tool ran and could not do what was asked; the message goes back to the model."""


@frozen
class ToolEnv:
    """What tools may touch: the confined workdir, the shell environment and time limits."""

    workspace: Workspace
    environment: Mapping[str, str]
    default_timeout_ms: int = 10_000
    max_timeout_ms: int = 600_000
    kill_grace: float = 2.0


Executor = Callable[[dict[str, Any], ToolEnv], Awaitable[str]]


@frozen
class Tool:
    """``limit`` is the character cap for the model (``mode`` head_tail or tail), then ``lines``."""

    contract: ToolContract
    execute: Executor
    limit: int
    mode: str = "tail"
    lines: int | None = None

    @property
    def name(self) -> str:
        return self.contract.name


def define(name: str, description: str, properties: Mapping[str, Any], required: list[str],
           execute: Executor, *, limit: int, mode: str = "tail",
           lines: int | None = None) -> Tool:
    schema = {"type": "object", "properties": dict(properties), "required": required,
              "additionalProperties": False}
    return Tool(ToolContract.define(name, description, schema), execute, limit, mode, lines)
