"""Builds stream events and the accumulated response together (spec §4.4 StreamAccumulator).

Adapters translate provider events by calling these methods; each returns
the unified event to yield and records its content, so that the FINISH
event carries a ``Response`` equal to what ``complete()`` would return.
Segments keep the order in which they started.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InvalidToolCallError
from .types import (
    ContentPart,
    FinishReason,
    Message,
    Response,
    Role,
    StreamEvent,
    StreamEventType,
    ThinkingData,
    ToolCall,
    ToolCallData,
    Usage,
)

T = StreamEventType


def parse_arguments(raw: str, *, provider: str, tool: str) -> dict[str, Any]:
    """Tool-call arguments as a JSON object; InvalidToolCallError otherwise."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidToolCallError(f"tool call {tool!r}: arguments are not valid JSON "
                                   f"({exc}): {raw[:200]!r}", provider=provider) from exc
    if not isinstance(value, dict):
        raise InvalidToolCallError(f"tool call {tool!r}: arguments must be a JSON object, "
                                   f"got {type(value).__name__}", provider=provider)
    return value


class StreamAccumulator:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.response_id = ""
        self._order: list[tuple[str, str]] = []
        self._text: dict[str, list[str]] = {}
        self._reasoning: dict[str, list[str]] = {}
        self._signatures: dict[str, str] = {}
        self._calls: dict[str, tuple[str, list[str]]] = {}
        self._done_calls: dict[str, ToolCallData] = {}

    def start(self, raw: Mapping[str, Any] | None = None) -> StreamEvent:
        return StreamEvent(T.STREAM_START, raw=raw)

    def text_start(self, text_id: str) -> StreamEvent:
        if text_id not in self._text:
            self._text[text_id] = []
            self._order.append(("text", text_id))
        return StreamEvent(T.TEXT_START, text_id=text_id)

    def text_delta(self, text_id: str, delta: str) -> StreamEvent:
        self._text.setdefault(text_id, [])
        self._text[text_id].append(delta)
        return StreamEvent(T.TEXT_DELTA, delta=delta, text_id=text_id)

    def text_end(self, text_id: str) -> StreamEvent:
        return StreamEvent(T.TEXT_END, text_id=text_id)

    def has_text(self, text_id: str) -> bool:
        return text_id in self._text

    def has_reasoning(self, rid: str) -> bool:
        return rid in self._reasoning

    def reasoning_start(self, rid: str) -> StreamEvent:
        if rid not in self._reasoning:
            self._reasoning[rid] = []
            self._order.append(("reasoning", rid))
        return StreamEvent(T.REASONING_START, text_id=rid)

    def reasoning_delta(self, rid: str, delta: str) -> StreamEvent:
        self._reasoning.setdefault(rid, []).append(delta)
        return StreamEvent(T.REASONING_DELTA, reasoning_delta=delta, text_id=rid)

    def reasoning_signature(self, rid: str, signature: str) -> None:
        self._signatures[rid] = self._signatures.get(rid, "") + signature

    def reasoning_end(self, rid: str) -> StreamEvent:
        return StreamEvent(T.REASONING_END, text_id=rid)

    def tool_call_start(self, call_id: str, name: str) -> StreamEvent:
        self._calls[call_id] = (name, [])
        self._order.append(("tool", call_id))
        return StreamEvent(T.TOOL_CALL_START, tool_call=ToolCall(call_id, name, {}, ""))

    def tool_call_delta(self, call_id: str, delta: str) -> StreamEvent:
        name, pieces = self._calls[call_id]
        pieces.append(delta)
        partial = ToolCall(call_id, name, {}, "".join(pieces))
        return StreamEvent(T.TOOL_CALL_DELTA, delta=delta, tool_call=partial)

    def tool_call_end(self, call_id: str, final_arguments: str | None = None) -> StreamEvent:
        """Close a call; its arguments must be a JSON object (else InvalidToolCallError)."""
        name, pieces = self._calls[call_id]
        raw = final_arguments if final_arguments is not None else "".join(pieces)
        args = parse_arguments(raw, provider=self.provider, tool=name)
        self._done_calls[call_id] = ToolCallData(call_id, name, args)
        return StreamEvent(T.TOOL_CALL_END, tool_call=ToolCall(call_id, name, args, raw))

    def has_call(self, call_id: str) -> bool:
        return call_id in self._calls

    def finish(self, reason: FinishReason, usage: Usage,
               raw: Mapping[str, Any] | None = None) -> StreamEvent:
        response = self.response(reason, usage, raw)
        return StreamEvent(T.FINISH, finish_reason=reason, usage=usage, response=response,
                           raw=raw)

    def response(self, reason: FinishReason, usage: Usage,
                 raw: Mapping[str, Any] | None = None) -> Response:
        return Response(id=self.response_id, model=self.model, provider=self.provider,
                        message=Message(Role.ASSISTANT, self._parts()), finish_reason=reason,
                        usage=usage, raw=raw)

    def _parts(self) -> tuple[ContentPart, ...]:
        parts: list[ContentPart] = []
        for kind, key in self._order:
            if kind == "text":
                parts.append(ContentPart.of_text("".join(self._text[key])))
            elif kind == "reasoning":
                parts.append(ContentPart.of_thinking(ThinkingData(
                    "".join(self._reasoning[key]), self._signatures.get(key))))
            elif key in self._done_calls:
                parts.append(ContentPart.of_tool_call(self._done_calls[key]))
        return tuple(parts)
