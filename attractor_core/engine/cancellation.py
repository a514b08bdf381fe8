"""Recognising a cancellation, bare or grouped by a nursery."""

from __future__ import annotations

import trio


def is_cancellation(exc: BaseException) -> bool:
    """True for ``trio.Cancelled`` and for exception groups holding only that."""
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(trio.Cancelled)
        return rest is None
    return False
