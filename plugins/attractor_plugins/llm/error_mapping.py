"""From a provider's error answer to an ``SDKError`` (unified-llm-spec §6.4-6.5, §7.6).

The HTTP status decides first. Where it is ambiguous (400, 422, 429 and
statuses the spec does not list) the message refines it: a 400 saying
"context length" is a ``ContextLengthError``, a 429 about quota or billing
is a ``QuotaExceededError`` (not retryable: waiting does not refill a
budget). Phrases match at word boundaries. A status no table knows
becomes a retryable ``ProviderError`` (spec: unknown errors default to
retryable), unless its message says otherwise.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

from . import errors as e

STATUS_ERRORS: Mapping[int, type[e.SDKError]] = {
    400: e.InvalidRequestError,
    401: e.AuthenticationError,
    403: e.AccessDeniedError,
    404: e.NotFoundError,
    408: e.RequestTimeoutError,
    413: e.ContextLengthError,
    422: e.InvalidRequestError,
    429: e.RateLimitError,
}

GRPC_ERRORS: Mapping[str, type[e.SDKError]] = {
    "NOT_FOUND": e.NotFoundError,
    "INVALID_ARGUMENT": e.InvalidRequestError,
    "UNAUTHENTICATED": e.AuthenticationError,
    "PERMISSION_DENIED": e.AccessDeniedError,
    "RESOURCE_EXHAUSTED": e.RateLimitError,
    "UNAVAILABLE": e.ServerError,
    "DEADLINE_EXCEEDED": e.RequestTimeoutError,
    "INTERNAL": e.ServerError,
}

# Checked in order; the first match wins.
MESSAGE_ERRORS: tuple[tuple[re.Pattern[str], type[e.SDKError]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cls) for pattern, cls in (
        (r"\b(?:content[ _]filter\w*|safety)\b", e.ContentFilterError),
        (r"\b(?:context[ _]length|context[ _]window|too many tokens|prompt is too long)\b",
         e.ContextLengthError),
        (r"\b(?:quota|billing|insufficient[ _]quota)\b", e.QuotaExceededError),
        (r"\b(?:not found|does not exist)\b", e.NotFoundError),
        (r"\b(?:unauthori[sz]ed|invalid[ _](?:api[ _-]?)?key|incorrect api key)\b",
         e.AuthenticationError),
    ))

_REFINED_STATUSES = frozenset({400, 422})


def classify_message(text: str) -> type[e.SDKError] | None:
    for pattern, cls in MESSAGE_ERRORS:
        if pattern.search(text):
            return cls
    return None


def error_type_for_status(status: int, text: str) -> type[e.SDKError]:
    hint = classify_message(text)
    if status == 429:
        return e.QuotaExceededError if hint is e.QuotaExceededError else e.RateLimitError
    if status in _REFINED_STATUSES and hint is not None:
        return hint
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if 500 <= status <= 599:
        return e.ServerError
    return hint or e.ProviderError


def make_error(cls: type[e.SDKError], message: str, *, provider: str,
               status_code: int | None = None, error_code: str | None = None,
               raw: Mapping[str, Any] | None = None, retry_after: float | None = None,
               ) -> e.SDKError:
    if issubclass(cls, e.ProviderError):
        return cls(message, provider=provider, status_code=status_code, error_code=error_code,
                   raw=raw, retry_after=retry_after)
    if issubclass(cls, e.LocalError):
        return cls(message, provider=provider, status_code=status_code)
    return cls(message)


def error_from_status(status: int, message: str, *, provider: str, error_code: str | None = None,
                      raw: Mapping[str, Any] | None = None, retry_after: float | None = None,
                      ) -> e.SDKError:
    cls = error_type_for_status(status, f"{message} {error_code or ''}")
    return make_error(cls, message, provider=provider, status_code=status,
                      error_code=error_code, raw=raw, retry_after=retry_after)


def error_from_grpc(code: str, message: str, *, provider: str, status_code: int | None = None,
                    raw: Mapping[str, Any] | None = None, retry_after: float | None = None,
                    ) -> e.SDKError:
    """Gemini's ``error.status`` (a gRPC code name) decides when the table knows it."""
    cls = GRPC_ERRORS.get(code.upper())
    if cls is None:
        return error_from_status(status_code or 0, message, provider=provider, error_code=code,
                                 raw=raw, retry_after=retry_after)
    hint = classify_message(message)
    if cls is e.RateLimitError and hint is e.QuotaExceededError:
        cls = e.QuotaExceededError
    elif cls is e.InvalidRequestError and hint is not None:
        cls = hint
    return make_error(cls, message, provider=provider, status_code=status_code,
                      error_code=code, raw=raw, retry_after=retry_after)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
