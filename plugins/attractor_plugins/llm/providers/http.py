"""HTTP plumbing shared by the adapters (spec Layer 2): timeouts, errors, SSE.

Timeouts are trio deadlines, not polled clocks: the whole non-streaming
request runs under ``AdapterTimeout.request``; a stream must deliver its
first response headers within ``request`` and then an SSE event at least
every ``stream_read`` seconds. A deadline that fires becomes
``RequestTimeoutError``. Transport failures become ``NetworkError`` before
the answer started and ``StreamError`` after. ``trio.Cancelled`` from the
caller's scopes passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import trio

from ..config import AdapterTimeout
from ..error_mapping import error_from_status, parse_retry_after
from ..errors import NetworkError, RequestTimeoutError, SDKError, StreamError
from ..sse import SseEvent, iter_sse
from ..types import RateLimitInfo

ErrorParser = Callable[[httpx.Response, Any], SDKError]


class HttpTransport:
    """POSTs JSON for one provider and turns every failure into an ``SDKError``."""

    def __init__(self, provider: str, http: httpx.AsyncClient, timeouts: AdapterTimeout,
                 headers: Mapping[str, str] | None = None,
                 error_parser: ErrorParser | None = None) -> None:
        self.provider = provider
        self.http = http
        self.timeouts = timeouts
        self.headers = dict(headers or {})
        self.error_parser = error_parser or self.default_error
        self.not_found_hint = ""  # added to a 404's message, e.g. a protocol to try instead

    async def post_json(self, url: str, body: Mapping[str, Any], *,
                        headers: Mapping[str, str] | None = None,
                        params: Mapping[str, str] | None = None,
                        ) -> tuple[dict[str, Any], httpx.Headers]:
        request = self._build(url, body, headers, params)
        with trio.move_on_after(self.timeouts.request) as deadline:
            response = await self._send(request, stream=False)
        if deadline.cancelled_caught:
            raise self._timeout(f"no answer within {self.timeouts.request:g}s")
        if response.status_code >= 400:
            raise self._http_error(response, url)
        data = _json_or_none(response.content)
        if not isinstance(data, dict):
            raise StreamError(f"answer is not a JSON object: {response.text[:200]!r}",
                              provider=self.provider)
        return data, response.headers

    async def stream_sse(self, url: str, body: Mapping[str, Any], *,
                         headers: Mapping[str, str] | None = None,
                         params: Mapping[str, str] | None = None,
                         ) -> AsyncGenerator[SseEvent, None]:
        """Yield the SSE events of a streamed POST (an async generator; close it)."""
        request = self._build(url, body, headers, params)
        with trio.move_on_after(self.timeouts.request) as deadline:
            response = await self._send(request, stream=True)
        if deadline.cancelled_caught:
            raise self._timeout(f"no response headers within {self.timeouts.request:g}s")
        try:
            if response.status_code >= 400:
                await response.aread()
                raise self._http_error(response, url)
            events = iter_sse(response.aiter_lines())
            while True:
                event = await self._next_event(events)
                if event is None:
                    return
                yield event
        finally:
            await response.aclose()

    async def _next_event(self, events: AsyncIterator[SseEvent]) -> SseEvent | None:
        with trio.move_on_after(self.timeouts.stream_read) as idle:
            try:
                return await events.__anext__()
            except StopAsyncIteration:
                return None
            except httpx.TransportError as exc:
                raise StreamError(f"stream broke: {exc!r}", provider=self.provider,
                                  cause=exc) from exc
        assert idle.cancelled_caught
        raise self._timeout(f"stream stalled: no event for {self.timeouts.stream_read:g}s")

    def _http_error(self, response: httpx.Response, url: str) -> SDKError:
        """The provider's error; a 404 also names the URL (and ``not_found_hint``)."""
        error = self.error_parser(response, _json_or_none(response.content))
        if response.status_code == 404:
            error.message = f"{error.message} (POST {url} answered 404{self.not_found_hint})"
            error.args = (error.message,)
        return error

    def _build(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None,
               params: Mapping[str, str] | None) -> httpx.Request:
        timeout = httpx.Timeout(self.timeouts.request, connect=self.timeouts.connect)
        return self.http.build_request(
            "POST", url, content=json.dumps(body).encode(), params=params, timeout=timeout,
            headers={"content-type": "application/json", **self.headers, **(headers or {})})

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            return await self.http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise self._timeout(f"{type(exc).__name__}: {exc}", cause=exc) from exc
        except httpx.TransportError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}", provider=self.provider,
                               cause=exc) from exc

    def _timeout(self, message: str, cause: BaseException | None = None) -> RequestTimeoutError:
        return RequestTimeoutError(message, provider=self.provider, cause=cause)

    def default_error(self, response: httpx.Response, body: Any) -> SDKError:
        """Read ``{"error": {"message", "code"|"type"}}`` (OpenAI and Anthropic shape)."""
        detail = body.get("error") if isinstance(body, dict) else None
        message = response.text[:500] or response.reason_phrase
        code = None
        if isinstance(detail, dict):
            message = str(detail.get("message") or message)
            code = detail.get("code") or detail.get("type")
        elif isinstance(detail, str):
            message = detail
        return error_from_status(
            response.status_code, message, provider=self.provider,
            error_code=str(code) if code is not None else None,
            raw=body if isinstance(body, dict) else None,
            retry_after=parse_retry_after(response.headers))


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """``x-ratelimit-*`` headers (OpenAI style), informational only (spec §3.12)."""
    def number(name: str) -> int | None:
        value = headers.get(name)
        return int(value) if value is not None and value.isdigit() else None

    info = RateLimitInfo(
        requests_remaining=number("x-ratelimit-remaining-requests"),
        requests_limit=number("x-ratelimit-limit-requests"),
        tokens_remaining=number("x-ratelimit-remaining-tokens"),
        tokens_limit=number("x-ratelimit-limit-tokens"),
        reset_at=headers.get("x-ratelimit-reset-requests"))
    return None if info == RateLimitInfo() else info
