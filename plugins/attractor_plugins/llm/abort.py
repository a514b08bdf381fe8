"""Caller-driven abort of LLM requests (unified-llm-spec §4.7 "Abort Signals").

Trio cancellation and an abort are different things. When the engine
cancels a stage, ``trio.Cancelled`` travels up untouched, as trio requires.
When the *caller* decides to give up on a request (a watchdog, a user), it
calls :meth:`AbortController.abort`; the request is then stopped through a
cancel scope the client owns, and the client raises :class:`AbortError`
in its place. An abort is never retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio

from .errors import AbortError


class AbortController:
    """Owned by the caller; pass it as ``abort=`` to ``Client.complete``/``stream``."""

    def __init__(self) -> None:
        self._scopes: set[trio.CancelScope] = set()
        self.reason = ""

    @property
    def aborted(self) -> bool:
        return bool(self.reason)

    def abort(self, reason: str = "request aborted by caller") -> None:
        self.reason = reason or "request aborted by caller"
        for scope in list(self._scopes):
            scope.cancel()

    @contextmanager
    def guard(self, provider: str = "") -> Iterator[None]:
        """Run the body so that ``abort()`` stops it with :class:`AbortError`."""
        if self.aborted:
            raise AbortError(self.reason, provider=provider)
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                yield
            finally:
                self._scopes.discard(scope)
        if scope.cancelled_caught:
            raise AbortError(self.reason, provider=provider)


@contextmanager
def guarded(controller: AbortController | None, provider: str = "") -> Iterator[None]:
    """``controller.guard()``, or nothing when the caller gave no controller."""
    if controller is None:
        yield
    else:
        with controller.guard(provider):
            yield
