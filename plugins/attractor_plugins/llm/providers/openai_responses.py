"""OpenAI Responses API (``POST {base}/responses``), the native OpenAI protocol (spec §7.3).

System and developer messages become ``instructions``; tool calls and tool
results are top-level ``function_call`` / ``function_call_output`` input
items; ``reasoning_effort`` becomes ``reasoning.effort`` and the usage keeps
``output_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .. import errors as e
from ..error_mapping import classify_message, make_error
from ..errors import ProviderError, SDKError
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
    system_text,
)
from .http import rate_limit_info


class OpenAIResponsesAdapter(HttpAdapter):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.transport.not_found_hint = (
            f"; if the server has no Responses API (most OpenAI-compatible servers only speak "
            f"Chat Completions), set protocol = \"openai_chat\" in [llm.providers.{name}]")

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, request: Request, stream: bool) -> str:
        return f"{self.base_url}/responses"

    def build_body(self, request: Request, stream: bool) -> dict[str, Any]:
        self.check_tool_choice(request)
        body: dict[str, Any] = {"model": request.model, "input": _input_items(request.messages)}
        instructions = system_text(request.messages)
        if instructions:
            body["instructions"] = instructions
        if request.tools:
            body["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                              "parameters": dict(t.parameters)} for t in request.tools]
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = ({"type": "function", "name": choice.tool_name}
                                   if choice.mode == "named" else choice.mode)
        _set(body, "max_output_tokens", request.max_tokens)
        _set(body, "temperature", request.temperature)
        _set(body, "top_p", request.top_p)
        if request.reasoning_effort:
            body["reasoning"] = {"effort": request.reasoning_effort}
        if request.response_format is not None and request.response_format.type != "text":
            body["text"] = {"format": _text_format(request)}
        if request.metadata:
            body["metadata"] = dict(request.metadata)
        if stream:
            body["stream"] = True
        return merge_options(body, request.options_for(self.name))

    def parse_response(self, data: Mapping[str, Any], headers: httpx.Headers,
                       request: Request) -> Response:
        parts = [p for item in data.get("output") or () for p in self._output_parts(item)]
        message = Message(Role.ASSISTANT, parts)
        return Response(id=str(data.get("id", "")), model=str(data.get("model", request.model)),
                        provider=self.name, message=message,
                        finish_reason=_finish(data, bool(message.tool_calls)),
                        usage=_usage(data.get("usage")), raw=data,
                        rate_limit=rate_limit_info(headers))

    def translator(self, acc: StreamAccumulator) -> StreamTranslator:
        return _Translator(acc)

    def _output_parts(self, item: Mapping[str, Any]) -> list[ContentPart]:
        kind = item.get("type")
        if kind == "message":
            return [ContentPart.of_text(str(c.get("text", ""))) for c in item.get("content") or ()
                    if c.get("type") == "output_text"]
        if kind == "function_call":
            name = str(item.get("name", ""))
            args = parse_arguments(str(item.get("arguments", "")), provider=self.name, tool=name)
            call_id = str(item.get("call_id") or item.get("id", ""))
            return [ContentPart.of_tool_call(ToolCallData(call_id, name, args))]
        return []


class _Translator(StreamTranslator):
    def __init__(self, acc: StreamAccumulator) -> None:
        super().__init__(acc)
        self._call_ids: dict[str, str] = {}

    def feed(self, event: SseEvent) -> Iterable[StreamEvent]:
        data = sse_json(event, self.acc.provider)
        if data is None:
            return []
        kind = str(data.get("type") or event.event)
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        return handler(data) if handler is not None else []

    def _on_response_created(self, data: dict[str, Any]) -> list[StreamEvent]:
        response = data.get("response") or {}
        self.acc.response_id = str(response.get("id", ""))
        self.acc.model = str(response.get("model") or self.acc.model)
        return [self.acc.start(data)]

    def _on_response_output_item_added(self, data: dict[str, Any]) -> list[StreamEvent]:
        item = data.get("item") or {}
        if item.get("type") != "function_call":
            return []
        call_id = str(item.get("call_id") or item.get("id", ""))
        self._call_ids[str(item.get("id", call_id))] = call_id
        return [self.acc.tool_call_start(call_id, str(item.get("name", "")))]

    def _on_response_output_text_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        text_id = str(data.get("item_id", "text"))
        events = [] if self.acc.has_text(text_id) else [self.acc.text_start(text_id)]
        return [*events, self.acc.text_delta(text_id, str(data.get("delta", "")))]

    def _on_response_function_call_arguments_delta(self, data: dict[str, Any]
                                                   ) -> list[StreamEvent]:
        call_id = self._call_ids.get(str(data.get("item_id", "")), str(data.get("item_id", "")))
        return [self.acc.tool_call_delta(call_id, str(data.get("delta", "")))]

    def _on_response_output_item_done(self, data: dict[str, Any]) -> list[StreamEvent]:
        item = data.get("item") or {}
        if item.get("type") == "message" and self.acc.has_text(str(item.get("id", ""))):
            return [self.acc.text_end(str(item.get("id", "")))]
        if item.get("type") == "function_call":
            call_id = str(item.get("call_id") or item.get("id", ""))
            return [self.acc.tool_call_end(call_id, item.get("arguments"))]
        return []

    def _on_response_completed(self, data: dict[str, Any]) -> list[StreamEvent]:
        response = data.get("response") or {}
        self.finished = True
        has_calls = any(i.get("type") == "function_call" for i in response.get("output") or ())
        return [self.acc.finish(_finish(response, has_calls), _usage(response.get("usage")),
                                response)]

    _on_response_incomplete = _on_response_completed

    def _on_response_failed(self, data: dict[str, Any]) -> list[StreamEvent]:
        error = (data.get("response") or {}).get("error") or {}
        raise stream_error(self.acc.provider, error)

    def _on_error(self, data: dict[str, Any]) -> list[StreamEvent]:
        raise stream_error(self.acc.provider, data.get("error") or data)


def stream_error(provider: str, error: Mapping[str, Any]) -> SDKError:
    """An error event inside an OpenAI stream (no HTTP status to go by)."""
    message = str(error.get("message", "provider reported an error"))
    code = str(error.get("code") or error.get("type") or "")
    cls = classify_message(f"{message} {code}") or (
        _CODE_ERRORS.get(code, ProviderError))
    return make_error(cls, message, provider=provider, error_code=code or None, raw=error)


_CODE_ERRORS: Mapping[str, type[SDKError]] = {
    "rate_limit_exceeded": e.RateLimitError, "server_error": e.ServerError,
    "invalid_request_error": e.InvalidRequestError, "insufficient_quota": e.QuotaExceededError,
    "invalid_prompt": e.InvalidRequestError, "context_length_exceeded": e.ContextLengthError,
}


def _input_items(messages: Iterable[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role in (Role.SYSTEM, Role.DEVELOPER):
            continue
        text_type = "output_text" if message.role == Role.ASSISTANT else "input_text"
        content: list[dict[str, Any]] = []
        for part in message.content:
            if part.kind == ContentKind.TEXT:
                content.append({"type": text_type, "text": part.text or ""})
            elif part.kind == ContentKind.IMAGE and part.image is not None and part.image.url:
                content.append({"type": "input_image", "image_url": part.image.url})
            elif part.kind == ContentKind.TOOL_CALL and part.tool_call is not None:
                call = part.tool_call
                items.append({"type": "function_call", "call_id": call.id, "name": call.name,
                              "arguments": arguments_json(call.arguments)})
            elif part.kind == ContentKind.TOOL_RESULT and part.tool_result is not None:
                items.append({"type": "function_call_output",
                              "call_id": part.tool_result.tool_call_id,
                              "output": result_text(part.tool_result.content)})
        if content:
            items.append({"type": "message", "role": message.role.value, "content": content})
    return items


def _text_format(request: Request) -> dict[str, Any]:
    fmt = request.response_format
    assert fmt is not None
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        return {"type": "json_schema", "name": "output", "schema": dict(fmt.json_schema),
                "strict": fmt.strict}
    return {"type": "json_object"}


def _finish(data: Mapping[str, Any], has_calls: bool) -> FinishReason:
    if data.get("status") == "incomplete":
        raw = str((data.get("incomplete_details") or {}).get("reason", "incomplete"))
        reason = {"max_output_tokens": "length", "content_filter": "content_filter"}
        return FinishReason(reason.get(raw, "other"), raw)
    if has_calls:
        return FinishReason("tool_calls", str(data.get("status", "completed")))
    return FinishReason("stop", str(data.get("status", "completed")))


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    inp, out = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return Usage(
        input_tokens=inp, output_tokens=out,
        total_tokens=int(usage.get("total_tokens") or inp + out),
        reasoning_tokens=int_or_none((usage.get("output_tokens_details") or {})
                                     .get("reasoning_tokens")),
        cache_read_tokens=int_or_none((usage.get("input_tokens_details") or {})
                                      .get("cached_tokens")),
        raw=dict(usage))


def _set(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value
