"""The middleware chain (unified-llm-spec §2.3).

A middleware wraps the provider call in both modes. The request phase runs
in registration order and the response phase in reverse (an onion): the
first middleware registered is the outermost layer. Subclass
:class:`Middleware` and override one or both methods; the defaults pass
through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from .types import Request, Response, StreamEvent

CompleteNext = Callable[[Request], Awaitable[Response]]
StreamNext = Callable[[Request], AsyncIterator[StreamEvent]]


class Middleware:
    """Pass-through base class."""

    async def complete(self, request: Request, call_next: CompleteNext) -> Response:
        return await call_next(request)

    def stream(self, request: Request, call_next: StreamNext) -> AsyncIterator[StreamEvent]:
        return call_next(request)


def chain_complete(middleware: Sequence[Middleware], innermost: CompleteNext) -> CompleteNext:
    call = innermost
    for layer in reversed(middleware):
        call = _bind_complete(layer, call)
    return call


def chain_stream(middleware: Sequence[Middleware], innermost: StreamNext) -> StreamNext:
    call = innermost
    for layer in reversed(middleware):
        call = _bind_stream(layer, call)
    return call


def _bind_complete(layer: Middleware, call_next: CompleteNext) -> CompleteNext:
    async def call(request: Request) -> Response:
        return await layer.complete(request, call_next)
    return call


def _bind_stream(layer: Middleware, call_next: StreamNext) -> StreamNext:
    def call(request: Request) -> AsyncIterator[StreamEvent]:
        return layer.stream(request, call_next)
    return call


async def close_events(events: AsyncIterator[StreamEvent]) -> None:
    """Close a stream of events (an async generator releases its connection) if it can be."""
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
