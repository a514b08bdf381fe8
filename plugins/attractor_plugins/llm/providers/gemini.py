"""Gemini API (``{base}/v1beta/models/<model>:generateContent``), spec §7.3.

Streams use ``:streamGenerateContent?alt=sse`` and end when the server
closes the stream after a chunk with ``finishReason``. Gemini gives
function calls no ids, so the adapter makes ``call_<n>_<name>``-style
synthetic ids and maps a tool result back to its function name from the
conversation. The key travels in the ``x-goog-api-key`` header rather than
the query string, so it never appears in a logged URL. Errors carry a gRPC
status name that decides the error type (spec §6.4).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ..error_mapping import error_from_grpc, parse_retry_after
from ..errors import InvalidToolCallError, SDKError
from ..sse import SseEvent
from ..stream_accumulator import StreamAccumulator
from ..types import (
    ContentKind,
    ContentPart,
    FinishReason,
    Message,
    Request,
    Response,
    Role,
    StreamEvent,
    ThinkingData,
    ToolCallData,
    Usage,
)
from .common import (
    HttpAdapter,
    StreamTranslator,
    int_or_none,
    merge_options,
    sse_json,
    system_text,
    tool_names_by_id,
)
from .http import rate_limit_info

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
                  "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
                  "PROHIBITED_CONTENT": "content_filter"}
TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "named": "ANY"}


class GeminiAdapter(HttpAdapter):
    def auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key} if self.api_key else {}

    def url(self, request: Request, stream: bool) -> str:
        method = "streamGenerateContent" if stream else "generateContent"
        return f"{self.base_url}/v1beta/models/{request.model}:{method}"

    def params(self, request: Request, stream: bool) -> dict[str, str] | None:
        return {"alt": "sse"} if stream else None

    def build_body(self, request: Request, stream: bool) -> dict[str, Any]:
        self.check_tool_choice(request)
        body: dict[str, Any] = {"contents": _contents(request.messages)}
        system = system_text(request.messages)
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if request.tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
                for t in request.tools]}]
        if request.tool_choice is not None:
            config: dict[str, Any] = {"mode": TOOL_MODES[request.tool_choice.mode]}
            if request.tool_choice.mode == "named":
                config["allowedFunctionNames"] = [request.tool_choice.tool_name]
            body["toolConfig"] = {"functionCallingConfig": config}
        generation: dict[str, Any] = {k: v for k, v in (
            ("temperature", request.temperature), ("topP", request.top_p),
            ("maxOutputTokens", request.max_tokens),
            ("stopSequences", list(request.stop_sequences) or None)) if v is not None}
        if request.response_format is not None and request.response_format.type != "text":
            generation["responseMimeType"] = "application/json"
            if request.response_format.json_schema is not None:
                generation["responseSchema"] = dict(request.response_format.json_schema)
        if generation:
            body["generationConfig"] = generation
        return merge_options(body, request.options_for(self.name))

    def parse_response(self, data: Mapping[str, Any], headers: httpx.Headers,
                       request: Request) -> Response:
        candidate = (data.get("candidates") or [{}])[0]
        parts = [p for raw in (candidate.get("content") or {}).get("parts") or ()
                 if (p := _part(raw)) is not None]
        message = Message(Role.ASSISTANT, parts)
        return Response(id=str(data.get("responseId", "")),
                        model=str(data.get("modelVersion", request.model)), provider=self.name,
                        message=message,
                        finish_reason=_finish(candidate.get("finishReason"),
                                              bool(message.tool_calls)),
                        usage=_usage(data.get("usageMetadata")), raw=data,
                        rate_limit=rate_limit_info(headers))

    def parse_error(self, response: httpx.Response, body: Any) -> SDKError:
        if isinstance(body, list) and body:  # some Gemini errors come as a one-element list
            body = body[0]
        detail = body.get("error") if isinstance(body, dict) else None
        if not isinstance(detail, dict) or not detail.get("status"):
            return self.transport.default_error(response, body)
        return error_from_grpc(str(detail["status"]), str(detail.get("message", "")),
                               provider=self.name, status_code=response.status_code, raw=body,
                               retry_after=parse_retry_after(response.headers))

    def translator(self, acc: StreamAccumulator) -> StreamTranslator:
        return _Translator(acc)


class _Translator(StreamTranslator):
    """Every chunk is a whole GenerateContentResponse; the stream's end is the finish."""

    def __init__(self, acc: StreamAccumulator) -> None:
        super().__init__(acc)
        self._started = False
        self._reason: str | None = None
        self._has_calls = False
        self._usage = Usage()
        self._last: Mapping[str, Any] | None = None

    def feed(self, event: SseEvent) -> Iterable[StreamEvent]:
        data = sse_json(event, self.acc.provider)
        if data is None:
            return []
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            self.acc.response_id = str(data.get("responseId", ""))
            self.acc.model = str(data.get("modelVersion") or self.acc.model)
            events.append(self.acc.start(data))
        candidate = (data.get("candidates") or [{}])[0]
        for raw in (candidate.get("content") or {}).get("parts") or ():
            events.extend(self._part(raw))
        if data.get("usageMetadata"):
            self._usage = _usage(data["usageMetadata"])
        if candidate.get("finishReason"):
            self._reason = str(candidate["finishReason"])
        self._last = data
        return events

    def _part(self, raw: Mapping[str, Any]) -> list[StreamEvent]:
        call = raw.get("functionCall")
        if isinstance(call, Mapping):
            self._has_calls = True
            part = _part(raw)
            assert part is not None and part.tool_call is not None
            data = part.tool_call
            return [self.acc.tool_call_start(data.id, data.name),
                    self.acc.tool_call_delta(data.id, _json(data.arguments)),
                    self.acc.tool_call_end(data.id)]
        key = "thought" if raw.get("thought") else "text"
        if "text" not in raw:
            return []
        if key == "thought":
            first = not self.acc.has_reasoning("thought")
            start = [self.acc.reasoning_start("thought")] if first else []
            return [*start, self.acc.reasoning_delta("thought", str(raw["text"]))]
        start = [] if self.acc.has_text("text") else [self.acc.text_start("text")]
        return [*start, self.acc.text_delta("text", str(raw["text"]))]

    def end(self) -> Iterable[StreamEvent]:
        if self._reason is None:
            return []
        self.finished = True
        events = [self.acc.text_end("text")] if self.acc.has_text("text") else []
        if self.acc.has_reasoning("thought"):
            events.insert(0, self.acc.reasoning_end("thought"))
        return [*events, self.acc.finish(_finish(self._reason, self._has_calls), self._usage,
                                         self._last)]


def _json(value: Any) -> str:
    return json.dumps(dict(value) if isinstance(value, Mapping) else value)


def _contents(messages: Iterable[Message]) -> list[dict[str, Any]]:
    messages = list(messages)
    names = tool_names_by_id(messages)
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role in (Role.SYSTEM, Role.DEVELOPER):
            continue
        role = "model" if message.role == Role.ASSISTANT else "user"
        parts = [p for part in message.content if (p := _out_part(part, names, message))]
        if parts:
            contents.append({"role": role, "parts": parts})
    return contents


def _out_part(part: ContentPart, names: Mapping[str, str], message: Message
              ) -> dict[str, Any] | None:
    if part.kind == ContentKind.TEXT:
        return {"text": part.text or ""}
    if part.kind == ContentKind.TOOL_CALL and part.tool_call is not None:
        args = part.tool_call.arguments
        return {"functionCall": {"name": part.tool_call.name,
                                 "args": dict(args) if isinstance(args, Mapping) else {}}}
    if part.kind == ContentKind.TOOL_RESULT and part.tool_result is not None:
        result = part.tool_result
        name = names.get(result.tool_call_id) or message.name or result.tool_call_id
        content = result.content
        response = dict(content) if isinstance(content, Mapping) else {"result": content}
        if result.is_error:
            response = {"error": content}
        return {"functionResponse": {"name": name, "response": response}}
    if part.kind == ContentKind.IMAGE and part.image is not None and part.image.url:
        return {"fileData": {"mimeType": part.image.media_type or "image/png",
                             "fileUri": part.image.url}}
    return None


def _part(raw: Mapping[str, Any]) -> ContentPart | None:
    call = raw.get("functionCall")
    if isinstance(call, Mapping):
        name = str(call.get("name", ""))
        args = call.get("args") or {}
        if not isinstance(args, Mapping):
            raise InvalidToolCallError(f"tool call {name!r}: args is not an object")
        call_id = str(call.get("id") or f"call_{uuid.uuid4().hex[:12]}")
        return ContentPart.of_tool_call(ToolCallData(call_id, name, dict(args)))
    if "text" in raw:
        if raw.get("thought"):
            return ContentPart.of_thinking(ThinkingData(str(raw["text"]),
                                                        raw.get("thoughtSignature")))
        return ContentPart.of_text(str(raw["text"]))
    return None


def _finish(raw: Any, has_calls: bool) -> FinishReason:
    text = str(raw or "STOP")
    if has_calls and text == "STOP":
        return FinishReason("tool_calls", text)
    return FinishReason(FINISH_REASONS.get(text, "other"), text)


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    inp = int(usage.get("promptTokenCount") or 0)
    out = int(usage.get("candidatesTokenCount") or 0)
    return Usage(input_tokens=inp, output_tokens=out,
                 total_tokens=int(usage.get("totalTokenCount") or inp + out),
                 reasoning_tokens=int_or_none(usage.get("thoughtsTokenCount")),
                 cache_read_tokens=int_or_none(usage.get("cachedContentTokenCount")),
                 raw=dict(usage))
