"""The core client (unified-llm-spec §2.2-2.3, §4.1-4.2): routing, middleware, abort.

``Client`` holds one adapter per configured provider and routes each
request by ``request.provider`` (or the default provider). Every call goes
through the middleware chain; ``Client.from_env`` puts the retry
middleware (``retry.py``) innermost, so a bare ``Client(...)`` does not
retry, as the spec's low-level client, while the configured client does.

Cancellation: an engine-side trio cancel propagates as ``trio.Cancelled``;
an ``AbortController`` passed as ``abort=`` turns into ``AbortError``.
Neither is ever retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from .abort import AbortController, guarded
from .config import LlmConfig
from .errors import ConfigurationError
from .middleware import Middleware, chain_complete, chain_stream, close_events
from .providers.base import ProviderAdapter
from .retry import RetryMiddleware, RetryObserver
from .types import Request, Response, StreamEvent


class Client:
    """Routes requests to provider adapters through the middleware chain."""

    def __init__(self, providers: Mapping[str, ProviderAdapter], *,
                 default_provider: str | None = None,
                 middleware: Sequence[Middleware] = (),
                 http: httpx.AsyncClient | None = None) -> None:
        self.providers = dict(providers)
        self.default_provider = default_provider or next(iter(self.providers), None)
        self.middleware = tuple(middleware)
        self._http = http
        self._complete = chain_complete(self.middleware, self._adapter_complete)
        self._stream = chain_stream(self.middleware, self._adapter_stream)

    @classmethod
    def from_env(cls, env: Mapping[str, str], config: LlmConfig | Mapping[str, Any] | None = None,
                 *, middleware: Sequence[Middleware] = (),
                 on_retry: RetryObserver | None = None,
                 http: httpx.AsyncClient | None = None) -> Client:
        """Build a client from environment variables and the run's config.

        ``config`` is the whole parsed TOML config (its ``[llm]`` table is
        used), or an already built :class:`LlmConfig`. A provider is
        registered when its API key is found. ``middleware`` wraps the
        retry middleware; ``on_retry(error, attempt, delay)`` is called
        before each retry.
        """
        from .providers.registry import build_adapters

        llm = config if isinstance(config, LlmConfig) else LlmConfig.from_document(config or {})
        http = http or httpx.AsyncClient()
        adapters = build_adapters(llm, env, http)
        retry = RetryMiddleware(llm.retry, on_retry=on_retry)
        default = llm.default_provider or next(iter(adapters), None)
        if default is not None and default not in adapters:
            provider = llm.provider(default)
            keys = " or ".join(provider.api_key_env) or "its API key"
            raise ConfigurationError(
                f"[llm] default_provider = {default!r} is not available: set {keys}"
                + provider.keyless_hint(), provider=default)
        return cls(adapters, default_provider=default, middleware=(*middleware, retry), http=http)

    def adapter_for(self, request: Request) -> ProviderAdapter:
        """The adapter that serves ``request``; ConfigurationError when there is none."""
        name = request.provider or self.default_provider
        if name is None:
            raise ConfigurationError("no LLM provider configured: set OPENAI_API_KEY, "
                                     "ANTHROPIC_API_KEY or GEMINI_API_KEY, or add [llm.providers]")
        adapter = self.providers.get(name)
        if adapter is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise ConfigurationError(f"LLM provider {name!r} is not configured "
                                     f"(configured: {known})", provider=name)
        return adapter

    async def complete(self, request: Request, *, abort: AbortController | None = None
                       ) -> Response:
        """Send ``request`` and return the whole response; raises ``SDKError`` subclasses."""
        with guarded(abort, request.provider or self.default_provider or ""):
            return await self._complete(request)

    async def stream(self, request: Request, *, abort: AbortController | None = None
                     ) -> AsyncIterator[StreamEvent]:
        """Yield the events of one streamed response, ending with FINISH.

        Close it when you stop early (``contextlib.aclosing``), so the
        connection is released.
        """
        events = self._stream(request)
        provider = request.provider or self.default_provider or ""
        try:
            if abort is None:  # the common case pays for no extra cancel scope per event
                async for event in events:
                    yield event
                return
            while True:
                with abort.guard(provider):
                    try:
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        return
                yield event
        finally:
            await close_events(events)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _adapter_complete(self, request: Request) -> Response:
        return await self.adapter_for(request).complete(request)

    def _adapter_stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        return self.adapter_for(request).stream(request)

