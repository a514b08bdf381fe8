"""The provider adapter contract (unified-llm-spec §2.4, §7.1).

An adapter speaks one native protocol. It translates a :class:`Request`
into that protocol, the answer back into a :class:`Response` or a stream
of :class:`StreamEvent`, and every failure into an ``SDKError``. Adapters
never retry; the client's retry middleware does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from ..types import Request, Response, StreamEvent


@runtime_checkable
class ProviderAdapter(Protocol):
    name: str

    async def complete(self, request: Request) -> Response:
        """Send ``request`` and return the whole answer."""
        ...

    def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """Send ``request``; yield events ending with FINISH (an async generator)."""
        ...

    def supports_tool_choice(self, mode: str) -> bool:
        ...
