"""Retry with exponential backoff inside one LLM call (unified-llm-spec §6.6).

Only errors whose ``retryable`` is true are retried. ``Retry-After`` is
honoured when it does not exceed ``max_delay``; a longer one stops the
retries at once and the error keeps its ``retry_after`` (the spec's rule:
never wait minutes silently). The backoff sleep is ``trio.sleep``, so it is
cancellable; ``trio.Cancelled`` and ``AbortError`` are never retried. A
stream is retried only until its first event was delivered.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio
from attrs import field, frozen

from .errors import AbortError, SDKError
from .middleware import CompleteNext, Middleware, StreamNext, close_events
from .types import Request, Response, StreamEvent

RetryObserver = Callable[[SDKError, int, float], Any]
"""Called before each retry with ``(error, attempt, delay_seconds)``; attempt starts at 1."""


def _non_negative(_inst: Any, attr: Any, value: float) -> None:
    if value < 0:
        raise ValueError(f"{attr.name} must be >= 0, got {value}")


@frozen
class RetryPolicy:
    max_retries: int = field(default=2, validator=_non_negative)
    base_delay: float = field(default=1.0, validator=_non_negative)
    max_delay: float = field(default=60.0, validator=_non_negative)
    backoff_multiplier: float = field(default=2.0, validator=_non_negative)
    jitter: bool = True

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        delay: float = min(self.base_delay * self.backoff_multiplier ** attempt, self.max_delay)
        if self.jitter:
            delay *= (rng or random).uniform(0.5, 1.5)
        return delay

    def delay_for(self, error: SDKError, attempt: int) -> float | None:
        """Seconds to wait before retrying ``error``, or None when it must not be retried."""
        if isinstance(error, AbortError) or not error.retryable or attempt >= self.max_retries:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after) if retry_after <= self.max_delay else None
        return self.backoff(attempt)


class RetryMiddleware(Middleware):
    def __init__(self, policy: RetryPolicy, on_retry: RetryObserver | None = None) -> None:
        self.policy = policy
        self.on_retry = on_retry

    async def complete(self, request: Request, call_next: CompleteNext) -> Response:
        attempt = 0
        while True:
            try:
                return await call_next(request)
            except SDKError as error:
                await self._wait_or_raise(error, attempt)
                attempt += 1

    async def stream(self, request: Request, call_next: StreamNext
                     ) -> AsyncIterator[StreamEvent]:
        attempt = 0
        while True:
            events = call_next(request)
            delivered = False
            try:
                async for event in events:
                    delivered = True
                    yield event
                return
            except SDKError as error:
                if delivered:
                    raise
                await self._wait_or_raise(error, attempt)
                attempt += 1
            finally:
                await close_events(events)

    async def _wait_or_raise(self, error: SDKError, attempt: int) -> None:
        delay = self.policy.delay_for(error, attempt)
        if delay is None:
            raise error
        if self.on_retry is not None:
            self.on_retry(error, attempt + 1, delay)
        await trio.sleep(delay)

