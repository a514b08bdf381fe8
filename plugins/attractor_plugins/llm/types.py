"""Value classes of the unified LLM client (unified-llm-spec §3, §5.1-5.4).

Every class is a frozen attrs class. Sequences are stored as tuples and
mappings are never mutated after construction, so a request or a response
can be shared between tasks. Names follow the spec, except ``Warning``,
which is :class:`ResponseWarning` here so that it does not shadow the
Python builtin (the spec applies the same rule to its error names).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import field, frozen


def _tuple(items: Iterable[Any] | None) -> tuple[Any, ...]:
    return tuple(items or ())


def _mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


class Role(enum.Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    DEVELOPER = "developer"


class ContentKind(enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    DOCUMENT = "document"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    THINKING = "thinking"
    REDACTED_THINKING = "redacted_thinking"


@frozen
class ImageData:
    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None
    detail: str | None = None


@frozen
class AudioData:
    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None


@frozen
class DocumentData:
    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None
    file_name: str | None = None


@frozen
class ToolCallData:
    """A tool call inside an assistant message; ``arguments`` is parsed JSON or the raw string."""

    id: str
    name: str
    arguments: Mapping[str, Any] | str = field(factory=dict)
    type: str = "function"


@frozen
class ToolResultData:
    tool_call_id: str
    content: str | Mapping[str, Any] | list[Any]
    is_error: bool = False
    image_data: bytes | None = None
    image_media_type: str | None = None


@frozen
class ThinkingData:
    """Reasoning text; ``signature`` (Anthropic) must round-trip verbatim to the same model."""

    text: str
    signature: str | None = None
    redacted: bool = False


@frozen
class ContentPart:
    """Tagged union: ``kind`` says which one of the data fields is set."""

    kind: ContentKind | str
    text: str | None = None
    image: ImageData | None = None
    audio: AudioData | None = None
    document: DocumentData | None = None
    tool_call: ToolCallData | None = None
    tool_result: ToolResultData | None = None
    thinking: ThinkingData | None = None

    @classmethod
    def of_text(cls, text: str) -> ContentPart:
        return cls(ContentKind.TEXT, text=text)

    @classmethod
    def of_tool_call(cls, call: ToolCallData) -> ContentPart:
        return cls(ContentKind.TOOL_CALL, tool_call=call)

    @classmethod
    def of_tool_result(cls, result: ToolResultData) -> ContentPart:
        return cls(ContentKind.TOOL_RESULT, tool_result=result)

    @classmethod
    def of_thinking(cls, thinking: ThinkingData) -> ContentPart:
        kind = ContentKind.REDACTED_THINKING if thinking.redacted else ContentKind.THINKING
        return cls(kind, thinking=thinking)


@frozen
class Message:
    role: Role
    content: tuple[ContentPart, ...] = field(factory=tuple, converter=_tuple)
    name: str | None = None
    tool_call_id: str | None = None

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(Role.SYSTEM, (ContentPart.of_text(text),))

    @classmethod
    def developer(cls, text: str) -> Message:
        return cls(Role.DEVELOPER, (ContentPart.of_text(text),))

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(Role.USER, (ContentPart.of_text(text),))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls(Role.ASSISTANT, (ContentPart.of_text(text),))

    @classmethod
    def tool_result(cls, tool_call_id: str, content: str | Mapping[str, Any] | list[Any],
                    is_error: bool = False, name: str | None = None) -> Message:
        """A TOOL message answering one call; ``name`` is the tool's name (Gemini needs it)."""
        part = ContentPart.of_tool_result(ToolResultData(tool_call_id, content, is_error))
        return cls(Role.TOOL, (part,), name=name, tool_call_id=tool_call_id)

    @property
    def text(self) -> str:
        return "".join(p.text or "" for p in self.content if p.kind == ContentKind.TEXT)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(ToolCall.from_data(p.tool_call) for p in self.content
                     if p.kind == ContentKind.TOOL_CALL and p.tool_call is not None)


TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _check_tool_name(_inst: Any, _attr: attrs.Attribute[str], value: str) -> None:
    if not TOOL_NAME.fullmatch(value):
        raise ValueError(f"tool name {value!r}: use letters, digits and '_', start with a "
                         "letter, at most 64 characters")


def _check_parameters(_inst: Any, _attr: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    if value.get("type") != "object":
        raise ValueError('tool parameters: the JSON schema root must have "type": "object"')


@frozen
class ToolDefinition:
    """A tool offered to the model (spec ``Tool`` without ``execute``; the caller runs tools)."""

    name: str = field(validator=_check_tool_name)
    description: str
    parameters: Mapping[str, Any] = field(
        factory=lambda: {"type": "object", "properties": {}}, converter=_mapping,
        validator=_check_parameters)


@frozen
class ToolChoice:
    """``mode`` is ``auto``, ``none``, ``required`` or ``named`` (then ``tool_name`` is set)."""

    mode: str = "auto"
    tool_name: str | None = None


@frozen
class ToolCall:
    """A tool call extracted for execution; ``raw_arguments`` keeps the unparsed JSON text."""

    id: str
    name: str
    arguments: Mapping[str, Any] = field(factory=dict, converter=_mapping)
    raw_arguments: str | None = None

    @classmethod
    def from_data(cls, data: ToolCallData) -> ToolCall:
        if isinstance(data.arguments, str):
            raw = data.arguments
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except ValueError:  # adapters reject these; a hand-built call keeps its raw text
                parsed = {}
            return cls(data.id, data.name, parsed if isinstance(parsed, dict) else {}, raw)
        return cls(data.id, data.name, data.arguments, json.dumps(dict(data.arguments)))


@frozen
class ToolResult:
    tool_call_id: str
    content: str | Mapping[str, Any] | list[Any]
    is_error: bool = False


@frozen
class ResponseFormat:
    """``type`` is ``text``, ``json`` or ``json_schema`` (then ``json_schema`` is set)."""

    type: str = "text"
    json_schema: Mapping[str, Any] | None = None
    strict: bool = False


@frozen
class Request:
    """The one input of ``complete()`` and ``stream()`` (spec §3.6).

    ``provider`` picks the adapter; when it is ``None`` the client's default
    provider answers. ``provider_options[<provider name>]`` is merged into
    that provider's request body (``beta_headers`` for Anthropic become a
    header).
    """

    model: str
    messages: tuple[Message, ...] = field(converter=_tuple)
    provider: str | None = None
    tools: tuple[ToolDefinition, ...] = field(factory=tuple, converter=_tuple)
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] = field(factory=tuple, converter=_tuple)
    reasoning_effort: str | None = None
    metadata: Mapping[str, str] = field(factory=dict, converter=_mapping)
    provider_options: Mapping[str, Any] = field(factory=dict, converter=_mapping)

    def options_for(self, provider: str) -> Mapping[str, Any]:
        value = self.provider_options.get(provider)
        return value if isinstance(value, Mapping) else {}


@frozen
class FinishReason:
    """``reason`` is one of stop, length, tool_calls, content_filter, error, other."""

    reason: str
    raw: str | None = None


def _add_optional(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


@frozen
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    raw: Mapping[str, Any] | None = None

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            reasoning_tokens=_add_optional(self.reasoning_tokens, other.reasoning_tokens),
            cache_read_tokens=_add_optional(self.cache_read_tokens, other.cache_read_tokens),
            cache_write_tokens=_add_optional(self.cache_write_tokens, other.cache_write_tokens),
        )


@frozen
class ResponseWarning:
    message: str
    code: str | None = None


@frozen
class RateLimitInfo:
    requests_remaining: int | None = None
    requests_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_limit: int | None = None
    reset_at: str | None = None


@frozen
class Response:
    id: str
    model: str
    provider: str
    message: Message
    finish_reason: FinishReason
    usage: Usage = field(factory=Usage)
    raw: Mapping[str, Any] | None = None
    warnings: tuple[ResponseWarning, ...] = field(factory=tuple, converter=_tuple)
    rate_limit: RateLimitInfo | None = None

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.message.tool_calls

    @property
    def reasoning(self) -> str | None:
        parts = [p.thinking.text for p in self.message.content
                 if p.kind == ContentKind.THINKING and p.thinking is not None]
        return "".join(parts) if parts else None


class StreamEventType(enum.Enum):
    STREAM_START = "stream_start"
    TEXT_START = "text_start"
    TEXT_DELTA = "text_delta"
    TEXT_END = "text_end"
    REASONING_START = "reasoning_start"
    REASONING_DELTA = "reasoning_delta"
    REASONING_END = "reasoning_end"
    TOOL_CALL_START = "tool_call_start"
    TOOL_CALL_DELTA = "tool_call_delta"
    TOOL_CALL_END = "tool_call_end"
    FINISH = "finish"
    ERROR = "error"
    PROVIDER_EVENT = "provider_event"


@frozen
class StreamEvent:
    """One normalised stream event (spec §3.13).

    ``tool_call`` is partial on TOOL_CALL_START/DELTA (``raw_arguments`` holds
    the text so far, ``delta`` the new piece) and complete on TOOL_CALL_END.
    FINISH carries ``finish_reason``, ``usage`` and the accumulated
    ``response``. ``error`` is an ``SDKError`` on ERROR events.
    """

    type: StreamEventType | str
    delta: str | None = None
    text_id: str | None = None
    reasoning_delta: str | None = None
    tool_call: ToolCall | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    response: Response | None = None
    error: Exception | None = None
    raw: Mapping[str, Any] | None = None
