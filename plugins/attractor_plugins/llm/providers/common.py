"""The part every HTTP adapter shares: complete/stream plumbing and small translations.

A concrete adapter supplies the URL, the headers, the request body, the
response parser and a stream translator; this base class runs them over
:class:`HttpTransport` and checks that a stream really finished.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx
import trio

from ..config import AdapterTimeout
from ..errors import SDKError, StreamError, UnsupportedToolChoiceError
from ..sse import SseEvent
from ..stream_accumulator import StreamAccumulator
from ..types import ContentKind, Message, Request, Response, Role, StreamEvent
from .http import HttpTransport

TOOL_CHOICE_MODES = frozenset({"auto", "none", "required", "named"})
# How long the rest of a finished stream may take to arrive before its connection is dropped.
_DRAIN_SECONDS = 0.5


class StreamTranslator:
    """Turns one provider's SSE events into unified events; sets ``finished`` at the end."""

    def __init__(self, acc: StreamAccumulator) -> None:
        self.acc = acc
        self.finished = False

    def feed(self, event: SseEvent) -> Iterable[StreamEvent]:
        raise NotImplementedError

    def end(self) -> Iterable[StreamEvent]:
        """Called when the SSE stream closed; may emit the FINISH of end-terminated streams."""
        return ()


class HttpAdapter:
    """Base of the four adapters; ``name`` is the configured provider name."""

    def __init__(self, name: str, *, api_key: str, base_url: str, http: httpx.AsyncClient,
                 timeouts: AdapterTimeout | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.transport = HttpTransport(name, http, timeouts or AdapterTimeout(),
                                       {**self.auth_headers(), **(headers or {})},
                                       self.parse_error)

    # -- to override -------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {}

    def url(self, request: Request, stream: bool) -> str:
        raise NotImplementedError

    def params(self, request: Request, stream: bool) -> dict[str, str] | None:
        return None

    def request_headers(self, request: Request) -> dict[str, str]:
        return {}

    def build_body(self, request: Request, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def parse_response(self, data: Mapping[str, Any], headers: httpx.Headers,
                       request: Request) -> Response:
        raise NotImplementedError

    def translator(self, acc: StreamAccumulator) -> StreamTranslator:
        raise NotImplementedError

    def parse_error(self, response: httpx.Response, body: Any) -> Any:
        return self.transport.default_error(response, body)

    # -- the adapter contract -------------------------------------------------------
    def supports_tool_choice(self, mode: str) -> bool:
        return mode in TOOL_CHOICE_MODES

    async def complete(self, request: Request) -> Response:
        data, headers = await self.transport.post_json(
            self.url(request, False), self.build_body(request, False),
            headers=self.request_headers(request), params=self.params(request, False))
        return self.parse_response(data, headers, request)

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        translator = self.translator(StreamAccumulator(self.name, request.model))
        events = self.transport.stream_sse(
            self.url(request, True), self.build_body(request, True),
            headers=self.request_headers(request), params=self.params(request, True))
        try:
            async for sse in events:
                for event in translator.feed(sse):
                    yield event
            for event in translator.end():
                yield event
        finally:
            if translator.finished:
                await _drain(events)
            await events.aclose()
        if not translator.finished:
            raise StreamError("stream ended before the provider finished the response",
                              provider=self.name)

    def check_tool_choice(self, request: Request) -> None:
        choice = request.tool_choice
        if choice is None:
            return
        if not self.supports_tool_choice(choice.mode) or (
                choice.mode == "named" and not choice.tool_name):
            raise UnsupportedToolChoiceError(
                f"tool choice {choice.mode!r} is not supported by {self.name}"
                + (" (named needs tool_name)" if choice.mode == "named" else ""),
                provider=self.name)


def system_text(messages: Iterable[Message]) -> str:
    """SYSTEM and DEVELOPER messages joined, for providers with one system slot."""
    return "\n\n".join(m.text for m in messages if m.role in (Role.SYSTEM, Role.DEVELOPER))


def result_text(content: Any) -> str:
    """A tool result's content as text (providers that only take strings)."""
    return content if isinstance(content, str) else json.dumps(content)


def tool_names_by_id(messages: Iterable[Message]) -> dict[str, str]:
    """Map tool-call ids to tool names from the assistant messages of a conversation."""
    names: dict[str, str] = {}
    for message in messages:
        for part in message.content:
            if part.kind == ContentKind.TOOL_CALL and part.tool_call is not None:
                names[part.tool_call.id] = part.tool_call.name
    return names


def arguments_json(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(dict(arguments))


def int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def merge_options(body: dict[str, Any], options: Mapping[str, Any],
                  skip: Iterable[str] = ()) -> dict[str, Any]:
    """Apply ``provider_options[<provider>]`` to the body (escape hatch, spec §3.6)."""
    skipped = set(skip)
    body.update({k: v for k, v in options.items() if k not in skipped})
    return body


def sse_json(event: SseEvent, provider: str) -> dict[str, Any] | None:
    """The JSON object of an SSE data field; None for ``[DONE]`` and empty data."""
    if not event.data or event.data.strip() == "[DONE]":
        return None
    try:
        value = json.loads(event.data)
    except ValueError as exc:
        raise StreamError(f"stream event is not JSON: {event.data[:200]!r}",
                          provider=provider) from exc
    return value if isinstance(value, dict) else None


async def _drain(events: AsyncIterator[SseEvent]) -> None:
    """Read what a provider sends after its finish event (``[DONE]``, ``message_stop``...).

    A caller stops at the finish event; closing a response with unread bytes drops its
    connection, so every call would open a new one (a new TLS handshake with a real
    provider). Read to the end, briefly, and the connection goes back to the pool.
    """
    with trio.move_on_after(_DRAIN_SECONDS):
        with contextlib.suppress(SDKError):
            async for _ in events:
                pass
