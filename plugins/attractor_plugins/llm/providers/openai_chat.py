"""Chat Completions (``POST {base}/chat/completions``) for OpenAI-compatible endpoints (spec §7.10).

For vLLM, Ollama, Together, Groq and the like. Streams end with
``data: [DONE]``; usage arrives in a last chunk because the adapter asks
for ``stream_options.include_usage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ..sse import SseEvent
from ..stream_accumulator import StreamAccumulator, parse_arguments
from ..types import (
    ContentKind,
    ContentPart,
    FinishReason,
    Message,
    Request,
    Response,
    Role,
    StreamEvent,
    ToolCallData,
    Usage,
)
from .common import (
    HttpAdapter,
    StreamTranslator,
    arguments_json,
    int_or_none,
    merge_options,
    result_text,
    sse_json,
)
from .http import rate_limit_info
from .openai_responses import stream_error

FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                  "function_call": "tool_calls", "content_filter": "content_filter"}


class OpenAIChatAdapter(HttpAdapter):
    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, request: Request, stream: bool) -> str:
        return f"{self.base_url}/chat/completions"

    def build_body(self, request: Request, stream: bool) -> dict[str, Any]:
        self.check_tool_choice(request)
        body: dict[str, Any] = {"model": request.model,
                                "messages": [m for msg in request.messages for m in _messages(msg)]}
        if request.tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": dict(t.parameters)}}
                for t in request.tools]
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = ({"type": "function", "function": {"name": choice.tool_name}}
                                   if choice.mode == "named" else choice.mode)
        for key, value in (("max_tokens", request.max_tokens),
                           ("temperature", request.temperature), ("top_p", request.top_p),
                           ("reasoning_effort", request.reasoning_effort)):
            if value is not None:
                body[key] = value
        if request.stop_sequences:
            body["stop"] = list(request.stop_sequences)
        if request.response_format is not None and request.response_format.type != "text":
            body["response_format"] = _response_format(request)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return merge_options(body, request.options_for(self.name))

    def parse_response(self, data: Mapping[str, Any], headers: httpx.Headers,
                       request: Request) -> Response:
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        parts: list[ContentPart] = []
        if message.get("content"):
            parts.append(ContentPart.of_text(str(message["content"])))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            name = str(function.get("name", ""))
            args = parse_arguments(str(function.get("arguments") or ""), provider=self.name,
                                   tool=name)
            parts.append(ContentPart.of_tool_call(ToolCallData(str(call.get("id", "")), name,
                                                               args)))
        raw_reason = str(choice.get("finish_reason") or "stop")
        return Response(id=str(data.get("id", "")), model=str(data.get("model", request.model)),
                        provider=self.name, message=Message(Role.ASSISTANT, parts),
                        finish_reason=FinishReason(FINISH_REASONS.get(raw_reason, "other"),
                                                   raw_reason),
                        usage=_usage(data.get("usage")), raw=data,
                        rate_limit=rate_limit_info(headers))

    def translator(self, acc: StreamAccumulator) -> StreamTranslator:
        return _Translator(acc)


class _Translator(StreamTranslator):
    """Chunks carry deltas; tool calls are keyed by ``index``; ``[DONE]`` ends the stream."""

    def __init__(self, acc: StreamAccumulator) -> None:
        super().__init__(acc)
        self._started = False
        self._calls: dict[int, str] = {}
        self._reason: str | None = None
        self._usage = Usage()
        self._raw: dict[str, Any] = {}

    def feed(self, event: SseEvent) -> Iterable[StreamEvent]:
        if event.data.strip() == "[DONE]":
            return self._finish()
        data = sse_json(event, self.acc.provider)
        if data is None:
            return []
        if "error" in data:
            raise stream_error(self.acc.provider, data["error"] or {})
        events = [] if self._started else [self._start(data)]
        if data.get("usage"):
            self._usage = _usage(data["usage"])
        for choice in data.get("choices") or ():
            events.extend(self._choice(choice))
        return events

    def end(self) -> Iterable[StreamEvent]:
        """Some compatible servers close after the finish chunk without ``[DONE]``."""
        return [] if self.finished or self._reason is None else self._finish()

    def _start(self, data: Mapping[str, Any]) -> StreamEvent:
        self._started = True
        self.acc.response_id = str(data.get("id", ""))
        self.acc.model = str(data.get("model") or self.acc.model)
        return self.acc.start(data)

    def _choice(self, choice: Mapping[str, Any]) -> list[StreamEvent]:
        delta = choice.get("delta") or {}
        events: list[StreamEvent] = []
        if delta.get("content"):
            if not self.acc.has_text("0"):
                events.append(self.acc.text_start("0"))
            events.append(self.acc.text_delta("0", str(delta["content"])))
        for call in delta.get("tool_calls") or ():
            events.extend(self._tool_delta(call))
        if choice.get("finish_reason"):
            self._reason = str(choice["finish_reason"])
        return events

    def _tool_delta(self, call: Mapping[str, Any]) -> list[StreamEvent]:
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        events: list[StreamEvent] = []
        if index not in self._calls:
            self._calls[index] = str(call.get("id") or f"call_{index}")
            events.append(self.acc.tool_call_start(self._calls[index],
                                                   str(function.get("name", ""))))
        if function.get("arguments"):
            events.append(self.acc.tool_call_delta(self._calls[index],
                                                   str(function["arguments"])))
        return events

    def _finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self.acc.has_text("0"):
            events.append(self.acc.text_end("0"))
        events.extend(self.acc.tool_call_end(call_id) for call_id in self._calls.values())
        raw = self._reason or "stop"
        self.finished = True
        reason = FinishReason(FINISH_REASONS.get(raw, "other"), raw)
        return [*events, self.acc.finish(reason, self._usage)]


def _messages(message: Message) -> list[dict[str, Any]]:
    if message.role == Role.TOOL:
        return [{"role": "tool", "tool_call_id": p.tool_result.tool_call_id,
                 "content": result_text(p.tool_result.content)}
                for p in message.content if p.tool_result is not None]
    text = message.text
    out: dict[str, Any] = {"role": message.role.value, "content": text}
    calls = [p.tool_call for p in message.content
             if p.kind == ContentKind.TOOL_CALL and p.tool_call is not None]
    if calls:
        out["content"] = text or None
        out["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": arguments_json(c.arguments)}} for c in calls]
    return [out]


def _response_format(request: Request) -> dict[str, Any]:
    fmt = request.response_format
    assert fmt is not None
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        return {"type": "json_schema", "json_schema": {
            "name": "output", "schema": dict(fmt.json_schema), "strict": fmt.strict}}
    return {"type": "json_object"}


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    inp, out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return Usage(
        input_tokens=inp, output_tokens=out,
        total_tokens=int(usage.get("total_tokens") or inp + out),
        reasoning_tokens=int_or_none((usage.get("completion_tokens_details") or {})
                                     .get("reasoning_tokens")),
        cache_read_tokens=int_or_none((usage.get("prompt_tokens_details") or {})
                                      .get("cached_tokens")),
        raw=dict(usage))
