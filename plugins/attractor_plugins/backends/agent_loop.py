"""The coding-agent loop (coding-agent-loop-spec §2.5): call the model, run its tool calls, repeat.

The loop ends when the model answers with text only (``completed``), when
the round limit is reached (``round_limit``), or when the guardrails see
the same broken round three times (``repeated_tool_errors``, which the
backend reports as a deterministic failure). No tool call ever raises into
the loop: every problem becomes an error tool result the model can read.
LLM errors do propagate, for the backend to classify; so does
``trio.Cancelled``, after the running tool's process group is gone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from attrs import frozen

from attractor_plugins.llm.errors import InvalidToolCallError
from attractor_plugins.llm.types import (
    ContentKind,
    ContentPart,
    Message,
    Request,
    Response,
    Role,
    ToolCallData,
    ToolChoice,
    ToolDefinition,
    Usage,
)

from .guardrails import CallRejected, RepeatGuard, RoundError
from .tool_hooks import ToolHookRunner
from .tools import Tool, ToolEnv, ToolFailure
from .tools.truncation import truncate_tool_output
from .tools.workspace import PathEscape

Complete = Callable[[Request], Awaitable[Response]]
_NAMED_CALL = re.compile(r"tool call '([A-Za-z0-9_]+)'")  # how the adapters name the call
ERROR_LIMIT = 10_000  # characters of an unknown tool's error result shown to the model
LOOP_WARNING = ("Loop detected: the last {n} tool calls follow a repeating pattern. "
                "Try a different approach.")


@frozen
class AgentConfig:
    max_rounds: int = 200
    loop_window: int = 10
    repeat_limit: int = 3
    reasoning_effort: str | None = None


@frozen
class CallRecord:
    """One executed call, with the full output (the model saw it truncated)."""

    round: int
    tool: str
    arguments: Any
    output: str
    is_error: bool


@frozen
class AgentResult:
    text: str
    stop: str  # completed | round_limit | repeated_tool_errors | interrupted
    reason: str
    rounds: int
    usage: Usage
    calls: tuple[CallRecord, ...]
    last_request: Request | None = None
    last_response: Response | None = None
    messages: tuple[Message, ...] = ()  # the conversation after the system message


@frozen
class AgentHooks:
    """How the loop reports: each finished call, and output growth in characters (liveness)."""

    on_call: Callable[[CallRecord], None] = lambda record: None
    on_output: Callable[[int], None] = lambda grown: None


class AgentSession:
    def __init__(self, complete: Complete, tools: Sequence[Tool], env: ToolEnv,
                 config: AgentConfig = AgentConfig(), hooks: AgentHooks = AgentHooks(),
                 tool_hooks: ToolHookRunner | None = None):
        self._tool_hooks = tool_hooks
        self._complete = complete
        self._tools = {t.name: t for t in tools}
        self._env = env
        self._config = config
        self._hooks = hooks
        self._guard = RepeatGuard(config.repeat_limit)
        self._calls: list[CallRecord] = []
        self._signatures: list[str] = []
        self._usage = Usage()
        self._rounds = 0
        self._last_request: Request | None = None
        self._last_response: Response | None = None
        self._messages: list[Message] = []

    def definitions(self) -> tuple[ToolDefinition, ...]:
        return tuple(ToolDefinition(t.name, t.contract.description, t.contract.parameters)
                     for t in self._tools.values())

    async def run(self, *, provider: str, model: str, system: str, prompt: str,
                  history: Sequence[Message] = ()) -> AgentResult:
        """``history``: earlier messages of the thread this session continues (full fidelity)."""
        messages: list[Message] = [Message.system(system), *history, Message.user(prompt)]
        self._messages = messages
        text = ""
        for round_no in range(1, self._config.max_rounds + 1):
            self._rounds = round_no - 1
            request = Request(model, messages, provider=provider, tools=self.definitions(),
                              tool_choice=ToolChoice("auto"),
                              reasoning_effort=self._config.reasoning_effort)
            self._last_request = request
            try:
                response = await self._complete(request)
            except InvalidToolCallError as exc:
                reason = self._malformed_answer(round_no, exc, messages)
                if reason:
                    return self._result("", "repeated_tool_errors", reason)
                continue
            self._last_response, text = response, response.text
            self._usage = self._usage + response.usage
            calls = _tool_calls(response.message)
            messages.append(_replayable(response.message))
            if not calls:
                return self._result(text, "completed", "")
            self._rounds = round_no
            reason = await self._round(round_no, calls, messages)
            if reason:
                return self._result(text, "repeated_tool_errors", reason)
        return self._result(text, "round_limit",
                            f"max tool rounds reached ({self._config.max_rounds})")

    def interrupted(self, reason: str) -> AgentResult:
        """What the session did before an error ended it (for the stage's records)."""
        return self._result("", "interrupted", reason)

    def _malformed_answer(self, round_no: int, error: InvalidToolCallError,
                          messages: list[Message]) -> str:
        """The provider's answer held a call whose arguments are not a JSON object.

        The adapter could not even build the call, so there is no call id to
        answer: the model gets the error as a user message instead, and the
        round counts as malformed for the repeat guard.
        """
        message = f"invalid tool arguments JSON: {error.message}"
        messages.append(Message.user(
            f"Your last answer was rejected: {message}. Call the tool again with arguments "
            "that form one JSON object matching its schema."))
        self._grow(len(message))
        named = _NAMED_CALL.search(error.message)
        tool = named.group(1) if named else "?"
        record = CallRecord(round_no, tool, None, message, True)
        self._calls.append(record)
        self._hooks.on_call(record)
        return self._guard.observe([RoundError(tool, message, True)], 1)

    async def _round(self, round_no: int, calls: Sequence[ToolCallData],
                     messages: list[Message]) -> str:
        errors: list[RoundError] = []
        for call in calls:
            record, malformed = await self._execute(round_no, call)
            tool = self._tools.get(call.name)
            limit, mode, lines = ((tool.limit, tool.mode, tool.lines) if tool
                                  else (ERROR_LIMIT, "tail", None))
            shown = truncate_tool_output(record.output, limit, mode, lines)
            messages.append(Message.tool_result(call.id, shown, record.is_error, name=call.name))
            if record.is_error:
                errors.append(RoundError(call.name, record.output, malformed))
        if self._loop_detected(calls):
            messages.append(Message.user(LOOP_WARNING.format(n=self._config.loop_window)))
        return self._guard.observe(errors, len(calls))

    async def _execute(self, round_no: int, call: ToolCallData) -> tuple[CallRecord, bool]:
        malformed = False
        try:
            tool = self._tools.get(call.name)
            if tool is None:
                raise CallRejected(f"unknown tool: {call.name}; available: "
                                   + ", ".join(sorted(self._tools)))
            arguments = tool.contract.arguments(call.arguments)
            skipped = (await self._tool_hooks.before(call.id, call.name, arguments)
                       if self._tool_hooks else None)
            if skipped is not None:
                raise CallRejected(f"Tool call skipped by tool_hooks.pre ({skipped})",
                                   malformed=False)
            output, is_error = await tool.execute(arguments, self._env), False
        except CallRejected as exc:
            output, is_error, malformed = exc.message, True, exc.malformed
        except (ToolFailure, PathEscape) as exc:
            output, is_error = f"Tool error ({call.name}): {exc}", True
        except Exception as exc:  # any tool bug becomes a result the model can see, never a crash
            output, is_error = f"Tool error ({call.name}): {type(exc).__name__}: {exc}", True
        if self._tool_hooks is not None:
            await self._tool_hooks.after(call.id, call.name, call.arguments, output, is_error)
        record = CallRecord(round_no, call.name, call.arguments, output, is_error)
        self._calls.append(record)
        self._grow(len(output))
        self._hooks.on_call(record)
        return record, malformed

    def _loop_detected(self, calls: Sequence[ToolCallData]) -> bool:
        self._signatures.extend(_signature(c) for c in calls)
        return repeating(self._signatures, self._config.loop_window)

    def _grow(self, size: int) -> None:
        self._hooks.on_output(size)

    def _result(self, text: str, stop: str, reason: str) -> AgentResult:
        return AgentResult(text, stop, reason, self._rounds, self._usage, tuple(self._calls),
                           self._last_request, self._last_response, tuple(self._messages[1:]))


def repeating(signatures: Sequence[str], window: int) -> bool:
    """True when the last ``window`` signatures repeat a pattern of 1, 2 or 3 calls."""
    if window <= 0 or len(signatures) < window:
        return False
    recent = list(signatures[-window:])
    for size in (1, 2, 3):
        if window % size == 0 and recent == recent[:size] * (window // size):
            return True
    return False


def _signature(call: ToolCallData) -> str:
    raw = call.arguments if isinstance(call.arguments, str) else repr(sorted(
        dict(call.arguments).items()))
    return call.name + ":" + hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:16]


def _tool_calls(message: Message) -> list[ToolCallData]:
    # Read the raw parts, not ``Message.tool_calls``: that parses the arguments and would
    # raise on malformed JSON, which must instead reach the model as an error result.
    return [p.tool_call for p in message.content
            if p.kind == ContentKind.TOOL_CALL and p.tool_call is not None]


def _replayable(message: Message) -> Message:
    """The assistant message as it goes back to the provider: unparseable arguments become {}."""
    if message.role != Role.ASSISTANT:
        return message
    parts = [_clean_part(p) for p in message.content]
    return Message(message.role, parts, message.name, message.tool_call_id)


def _clean_part(part: ContentPart) -> ContentPart:
    call = part.tool_call
    if call is None or not isinstance(call.arguments, str):
        return part
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        value = {}
    arguments: Mapping[str, Any] = value if isinstance(value, dict) else {}
    return ContentPart.of_tool_call(ToolCallData(call.id, call.name, arguments, call.type))
