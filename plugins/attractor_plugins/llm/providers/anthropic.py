"""Anthropic Messages API (``POST {base}/v1/messages``), spec §7.3.

System and developer text goes to ``system``; tool results travel as
``tool_result`` blocks inside user messages; consecutive messages with the
same role are merged (strict alternation); ``max_tokens`` defaults to
4096; thinking blocks round-trip with their signature. Tool choice
``none`` is sent by leaving the tools out. Anthropic refuses ``tool_use``
and ``tool_result`` blocks in a request that defines no tools, so a request
sent without tools (a one-shot stage continuing an agent stage's thread)
carries its earlier tool calls and results as text blocks instead.
``provider_options.anthropic.beta_headers`` becomes the ``anthropic-beta``
header. Prompt caching breakpoints are added automatically
(``anthropic_cache``) unless ``provider_options.anthropic.auto_cache`` is
false; cache reads and writes are reported in ``Usage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .. import errors as e
from ..error_mapping import classify_message, error_from_status, make_error, parse_retry_after
from ..errors import SDKError
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
from .anthropic_cache import add_breakpoints
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

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
CHARS_PER_TOKEN = 4  # rough English average, only for the reasoning-token estimate
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "tool_use": "tool_calls", "refusal": "content_filter"}
ERROR_TYPES: Mapping[str, type[SDKError]] = {
    "invalid_request_error": e.InvalidRequestError, "authentication_error": e.AuthenticationError,
    "permission_error": e.AccessDeniedError, "not_found_error": e.NotFoundError,
    "request_too_large": e.ContextLengthError, "rate_limit_error": e.RateLimitError,
    "api_error": e.ServerError, "overloaded_error": e.ServerError,
}


class AnthropicAdapter(HttpAdapter):
    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def url(self, request: Request, stream: bool) -> str:
        return f"{self.base_url}/v1/messages"

    def request_headers(self, request: Request) -> dict[str, str]:
        beta = request.options_for(self.name).get("beta_headers") or ()
        return {"anthropic-beta": ",".join(beta)} if beta else {}

    def build_body(self, request: Request, stream: bool) -> dict[str, Any]:
        self.check_tool_choice(request)
        choice = request.tool_choice
        with_tools = bool(request.tools) and not (choice is not None and choice.mode == "none")
        body: dict[str, Any] = {"model": request.model,
                                "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
                                "messages": _messages(request.messages, with_tools)}
        system = system_text(request.messages)
        if system:
            body["system"] = system
        if with_tools:
            body["tools"] = [{"name": t.name, "description": t.description,
                              "input_schema": dict(t.parameters)} for t in request.tools]
            if choice is not None:
                body["tool_choice"] = {"auto": {"type": "auto"}, "required": {"type": "any"},
                                       "named": {"type": "tool", "name": choice.tool_name}
                                       }[choice.mode]
        for key, value in (("temperature", request.temperature), ("top_p", request.top_p)):
            if value is not None:
                body[key] = value
        if request.stop_sequences:
            body["stop_sequences"] = list(request.stop_sequences)
        if stream:
            body["stream"] = True
        options = request.options_for(self.name)
        body = merge_options(body, options, skip=("beta_headers", "auto_cache"))
        return body if options.get("auto_cache") is False else add_breakpoints(body)

    def parse_response(self, data: Mapping[str, Any], headers: httpx.Headers,
                       request: Request) -> Response:
        parts = [p for block in data.get("content") or () if (p := _part(block)) is not None]
        raw_reason = str(data.get("stop_reason") or "end_turn")
        message = Message(Role.ASSISTANT, parts)
        return Response(id=str(data.get("id", "")), model=str(data.get("model", request.model)),
                        provider=self.name, message=message,
                        finish_reason=FinishReason(FINISH_REASONS.get(raw_reason, "other"),
                                                   raw_reason),
                        usage=_usage(data.get("usage") or {}, message), raw=data,
                        rate_limit=rate_limit_info(headers))

    def parse_error(self, response: httpx.Response, body: Any) -> SDKError:
        detail = body.get("error") if isinstance(body, dict) else None
        if not isinstance(detail, dict):
            return self.transport.default_error(response, body)
        message = str(detail.get("message") or response.reason_phrase)
        kind = str(detail.get("type") or "")
        if response.status_code == 529 or kind == "overloaded_error":
            return e.ServerError(message, provider=self.name, status_code=response.status_code,
                                 error_code=kind, raw=body,
                                 retry_after=parse_retry_after(response.headers))
        return error_from_status(response.status_code, message, provider=self.name,
                                 error_code=kind, raw=body,
                                 retry_after=parse_retry_after(response.headers))

    def translator(self, acc: StreamAccumulator) -> StreamTranslator:
        return _Translator(acc)


class _Translator(StreamTranslator):
    def __init__(self, acc: StreamAccumulator) -> None:
        super().__init__(acc)
        self._blocks: dict[int, tuple[str, str]] = {}
        self._usage: dict[str, Any] = {}
        self._reason = "end_turn"

    def feed(self, event: SseEvent) -> Iterable[StreamEvent]:
        data = sse_json(event, self.acc.provider)
        if data is None:
            return []
        handler = getattr(self, "_on_" + str(data.get("type") or event.event), None)
        return handler(data) if handler is not None else []

    def _on_message_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        message = data.get("message") or {}
        self.acc.response_id = str(message.get("id", ""))
        self.acc.model = str(message.get("model") or self.acc.model)
        self._usage.update(message.get("usage") or {})
        return [self.acc.start(data)]

    def _on_content_block_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        index, block = int(data.get("index", 0)), data.get("content_block") or {}
        kind = str(block.get("type", ""))
        if kind == "tool_use":
            self._blocks[index] = ("tool", str(block.get("id", "")))
            return [self.acc.tool_call_start(str(block.get("id", "")), str(block.get("name", "")))]
        if kind == "thinking":
            self._blocks[index] = ("thinking", str(index))
            return [self.acc.reasoning_start(str(index))]
        self._blocks[index] = ("text", str(index))
        return [self.acc.text_start(str(index))] if kind == "text" else []

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        _kind, key = self._blocks.get(int(data.get("index", 0)), ("text", "0"))
        delta = data.get("delta") or {}
        if delta.get("type") == "input_json_delta":
            return [self.acc.tool_call_delta(key, str(delta.get("partial_json", "")))]
        if delta.get("type") == "thinking_delta":
            return [self.acc.reasoning_delta(key, str(delta.get("thinking", "")))]
        if delta.get("type") == "signature_delta":
            self.acc.reasoning_signature(key, str(delta.get("signature", "")))
            return []
        return [self.acc.text_delta(key, str(delta.get("text", "")))]

    def _on_content_block_stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        kind, key = self._blocks.get(int(data.get("index", 0)), ("text", "0"))
        if kind == "tool":
            return [self.acc.tool_call_end(key)]
        if kind == "thinking":
            return [self.acc.reasoning_end(key)]
        return [self.acc.text_end(key)]

    def _on_message_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        self._reason = str((data.get("delta") or {}).get("stop_reason") or self._reason)
        self._usage.update(data.get("usage") or {})
        return []

    def _on_message_stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        self.finished = True
        reason = FinishReason(FINISH_REASONS.get(self._reason, "other"), self._reason)
        usage = _usage(self._usage, self.acc.response(reason, Usage()).message)
        return [self.acc.finish(reason, usage, data)]

    def _on_error(self, data: dict[str, Any]) -> list[StreamEvent]:
        error = data.get("error") or {}
        message = str(error.get("message", "provider reported an error"))
        kind = str(error.get("type", ""))
        cls = ERROR_TYPES.get(kind) or classify_message(message) or e.ProviderError
        raise make_error(cls, message, provider=self.acc.provider, error_code=kind or None,
                         raw=data)


def _messages(messages: Iterable[Message], with_tools: bool = True) -> list[dict[str, Any]]:
    """Merge same-role neighbours so user and assistant strictly alternate."""
    block = _block if with_tools else _block_without_tools
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role in (Role.SYSTEM, Role.DEVELOPER):
            continue
        role = "assistant" if message.role == Role.ASSISTANT else "user"
        blocks = [b for p in message.content if (b := block(p)) is not None]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _block(part: ContentPart) -> dict[str, Any] | None:
    if part.kind == ContentKind.TEXT:
        return {"type": "text", "text": part.text or ""}
    if part.kind == ContentKind.TOOL_CALL and part.tool_call is not None:
        args = part.tool_call.arguments
        return {"type": "tool_use", "id": part.tool_call.id, "name": part.tool_call.name,
                "input": dict(args) if isinstance(args, Mapping) else args}
    if part.kind == ContentKind.TOOL_RESULT and part.tool_result is not None:
        result = part.tool_result
        return {"type": "tool_result", "tool_use_id": result.tool_call_id,
                "content": result_text(result.content),
                "is_error": result.is_error}
    if part.thinking is not None:
        if part.kind == ContentKind.REDACTED_THINKING:
            return {"type": "redacted_thinking", "data": part.thinking.text}
        return {"type": "thinking", "thinking": part.thinking.text,
                "signature": part.thinking.signature or ""}
    if part.kind == ContentKind.IMAGE and part.image is not None and part.image.url:
        return {"type": "image", "source": {"type": "url", "url": part.image.url}}
    return None


def _block_without_tools(part: ContentPart) -> dict[str, Any] | None:
    """Tool activity as text, for a request that defines no tools."""
    if part.kind == ContentKind.TOOL_CALL and part.tool_call is not None:
        call = part.tool_call
        return {"type": "text", "text": f"[tool call {call.id}: {call.name} "
                                        f"{arguments_json(call.arguments)}]"}
    if part.kind == ContentKind.TOOL_RESULT and part.tool_result is not None:
        result = part.tool_result
        failed = " (error)" if result.is_error else ""
        return {"type": "text", "text": f"[result of tool call {result.tool_call_id}{failed}]\n"
                                        f"{result_text(result.content)}"}
    return _block(part)


def _part(block: Mapping[str, Any]) -> ContentPart | None:
    kind = block.get("type")
    if kind == "text":
        return ContentPart.of_text(str(block.get("text", "")))
    if kind == "tool_use":
        args = block.get("input")
        if not isinstance(args, Mapping):
            raise e.InvalidToolCallError(f"tool call {block.get('name')!r}: input is not an "
                                         "object")
        return ContentPart.of_tool_call(ToolCallData(str(block.get("id", "")),
                                                     str(block.get("name", "")), dict(args)))
    if kind == "thinking":
        return ContentPart.of_thinking(ThinkingData(str(block.get("thinking", "")),
                                                    block.get("signature")))
    if kind == "redacted_thinking":
        return ContentPart.of_thinking(ThinkingData(str(block.get("data", "")), redacted=True))
    return None


def _usage(usage: Mapping[str, Any], message: Message) -> Usage:
    """Anthropic gives no reasoning count: estimate it from the thinking text (spec §3.9)."""
    inp, out = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    thinking = [p.thinking.text for p in message.content
                if p.kind == ContentKind.THINKING and p.thinking is not None]
    reasoning = max(1, sum(len(t) for t in thinking) // CHARS_PER_TOKEN) if thinking else None
    return Usage(input_tokens=inp, output_tokens=out, total_tokens=inp + out,
                 reasoning_tokens=reasoning,
                 cache_read_tokens=int_or_none(usage.get("cache_read_input_tokens")),
                 cache_write_tokens=int_or_none(usage.get("cache_creation_input_tokens")),
                 raw=dict(usage))
