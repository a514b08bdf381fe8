"""Unified LLM errors -> failure classes and signatures (spec §6.3, §6.4).

Contract with the codergen backends: an LLM failure is returned as a
``fail`` outcome **without** a ``failure_class`` and with
``details["llm_error"] = {"type": <error class name>, "status": <HTTP
status or None>, "provider": <name>, "retryable": <bool>, "message": ...}``
(:func:`error_record` builds it). The engine then asks the
``attractor_classify_failure`` hook; this module's hookimpl (registered in
``plugin.py``, ahead of the trylast text heuristics) answers from that
record and from nothing else, so a reason text can never override a typed
error. The backend should also set ``failure_signature`` to
``classify_error(err).signature`` so that repeated identical API failures
are recognised by the cycle breaker.

Signatures read ``api_<class>|<provider>|<detail>``. The class follows the
table below; ``RequestTimeoutError`` is not retried inside one call (spec
§6.3) but is ``transient_infra`` for the stage, as any other timeout. An
error type this table does not know follows its ``retryable`` flag, and
when that is missing the spec's default: retryable, so ``transient_infra``.
Trio cancellation and ``AbortError`` are ``canceled``, never
``deterministic``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio
from attrs import frozen

from attractor_core.sdk import FailureClass

from .error_mapping import error_type_for_status
from .errors import SDKError

TRANSIENT = FailureClass.TRANSIENT_INFRA.value
DETERMINISTIC = FailureClass.DETERMINISTIC.value
CANCELED = FailureClass.CANCELED.value

# error class name -> (failure class, signature detail)
ERROR_CLASSES: Mapping[str, tuple[str, str]] = {
    "AuthenticationError": (DETERMINISTIC, "authentication"),
    "AccessDeniedError": (DETERMINISTIC, "access_denied"),
    "NotFoundError": (DETERMINISTIC, "not_found"),
    "InvalidRequestError": (DETERMINISTIC, "invalid_request"),
    "ContextLengthError": (DETERMINISTIC, "context_length"),
    "ContentFilterError": (DETERMINISTIC, "content_filter"),
    "QuotaExceededError": (DETERMINISTIC, "quota_exceeded"),
    "ConfigurationError": (DETERMINISTIC, "configuration"),
    "FailoverForbiddenError": (DETERMINISTIC, "failover_forbidden"),
    "InvalidToolCallError": (DETERMINISTIC, "invalid_tool_call"),
    "NoObjectGeneratedError": (DETERMINISTIC, "no_object_generated"),
    "UnsupportedToolChoiceError": (DETERMINISTIC, "unsupported_tool_choice"),
    "RateLimitError": (TRANSIENT, "rate_limited"),
    "ServerError": (TRANSIENT, "server_error"),
    "RequestTimeoutError": (TRANSIENT, "timeout"),
    "NetworkError": (TRANSIENT, "network"),
    "StreamError": (TRANSIENT, "stream"),
    "AbortError": (CANCELED, "abort"),
    "Cancelled": (CANCELED, "cancelled"),
}


@frozen
class LlmFailure:
    failure_class: str
    signature: str
    detail: str


def error_record(error: BaseException, provider: str = "") -> dict[str, Any]:
    """The ``details["llm_error"]`` mapping for ``error`` (also for ``trio.Cancelled``)."""
    status = getattr(error, "status_code", None)
    return {
        "type": type(error).__name__,
        "status": status if isinstance(status, int) else None,
        "provider": getattr(error, "provider", "") or provider,
        "retryable": bool(getattr(error, "retryable", False)) if isinstance(error, SDKError)
        else None,
        "message": getattr(error, "message", "") or str(error),
    }


def classify_error(error: BaseException, provider: str = "") -> LlmFailure:
    if isinstance(error, trio.Cancelled):
        return _failure(CANCELED, provider, "cancelled")
    return classify_record(error_record(error, provider))


def classify_record(record: Mapping[str, Any]) -> LlmFailure:
    """Classify a ``details["llm_error"]`` record (type name first, then status, then flags)."""
    provider = str(record.get("provider") or "unknown")
    name = _type_name(record)
    if name in ERROR_CLASSES:
        cls, detail = ERROR_CLASSES[name]
        return _failure(cls, provider, detail)
    retryable = record.get("retryable")
    if retryable is False:
        return _failure(DETERMINISTIC, provider, _unknown_detail(record, "deterministic"))
    return _failure(TRANSIENT, provider, _unknown_detail(record, "transient"))


def classify_outcome(outcome: Any, error: BaseException | None) -> str | None:
    """The hook's answer: a class for failures carrying a unified error, else None."""
    if isinstance(error, SDKError | trio.Cancelled):
        return classify_error(error).failure_class
    details = getattr(outcome, "details", None)
    record = details.get("llm_error") if isinstance(details, Mapping) else None
    if not isinstance(record, Mapping):
        return None
    return classify_record(record).failure_class


def _type_name(record: Mapping[str, Any]) -> str:
    """The error type; a record with only a status is typed by the status table (§6.4)."""
    name = str(record.get("type") or "")
    status = record.get("status")
    if name in ("", "ProviderError", "SDKError") and isinstance(status, int) and status >= 400:
        mapped = error_type_for_status(status, str(record.get("message") or "")).__name__
        return "" if mapped == "ProviderError" else mapped
    return name


def _unknown_detail(record: Mapping[str, Any], fallback: str) -> str:
    status = record.get("status")
    return f"http_{status}" if isinstance(status, int) else fallback


def _failure(failure_class: str, provider: str, detail: str) -> LlmFailure:
    return LlmFailure(failure_class, f"api_{failure_class}|{provider or 'unknown'}|{detail}",
                      detail)
