"""Errors of the unified LLM client (unified-llm-spec §6.1-6.5).

Every error the client raises is an :class:`SDKError`::

    SDKError
     +-- ProviderError                 the provider answered with an error
     |    +-- AuthenticationError      401, "unauthorized", "invalid key"
     |    +-- AccessDeniedError        403
     |    +-- NotFoundError            404, "not found", "does not exist"
     |    +-- InvalidRequestError      400, 422
     |    +-- RateLimitError           429 (retryable)
     |    +-- ServerError              500-599 (retryable)
     |    +-- ContentFilterError       "content filter", "safety"
     |    +-- ContextLengthError       413, "context length", "too many tokens"
     |    +-- QuotaExceededError       "quota", "billing"
     +-- RequestTimeoutError           408, request or stream idle timeout
     +-- AbortError                    the caller aborted the request
     +-- NetworkError                  connection-level failure (retryable)
     +-- StreamError                   broken stream (retryable)
     +-- InvalidToolCallError          tool call arguments are not valid JSON / not an object
     +-- UnsupportedToolChoiceError    the provider cannot honour the tool choice
     +-- NoObjectGeneratedError        structured output could not be parsed
     +-- ConfigurationError            missing provider, key, or bad [llm] config

``retryable`` is a class default (spec §6.3) that an instance may override:
an unknown HTTP status becomes a ``ProviderError`` that is retryable, as the
spec's "unknown errors default to retryable" asks. ``RequestTimeoutError``
is not retryable inside one call (spec §6.3), which stops a stalled
provider from eating the whole retry budget; the stage-level taxonomy
(``taxonomy.py``) still treats it as transient.

Trio cancellation is never turned into one of these: ``trio.Cancelled``
always propagates. ``AbortError`` is raised only when the caller's own
``AbortSignal`` fired (see ``client.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class SDKError(Exception):
    """Base of every client error; ``cause`` is the underlying exception, if any."""

    default_retryable: ClassVar[bool] = True  # an error of no known kind: spec §6.3 default

    def __init__(self, message: str, *, cause: BaseException | None = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.retryable = self.default_retryable if retryable is None else retryable
        if cause is not None:
            self.__cause__ = cause

    @property
    def provider_name(self) -> str:
        """The provider involved, or "" when the error is not tied to one."""
        return str(getattr(self, "provider", "") or "")


class ProviderError(SDKError):
    """The provider answered with an error (spec §6.2 fields)."""

    def __init__(self, message: str, *, provider: str, status_code: int | None = None,
                 error_code: str | None = None, retryable: bool | None = None,
                 retry_after: float | None = None, raw: Mapping[str, Any] | None = None,
                 cause: BaseException | None = None) -> None:
        super().__init__(message, cause=cause, retryable=retryable)
        self.provider = provider
        self.status_code = status_code
        self.error_code = error_code
        self.retry_after = retry_after
        self.raw = raw

    def __str__(self) -> str:
        status = f" {self.status_code}" if self.status_code is not None else ""
        return f"{self.provider}{status}: {self.message}"


class AuthenticationError(ProviderError):
    default_retryable: ClassVar[bool] = False


class AccessDeniedError(ProviderError):
    default_retryable: ClassVar[bool] = False


class NotFoundError(ProviderError):
    default_retryable: ClassVar[bool] = False


class InvalidRequestError(ProviderError):
    default_retryable: ClassVar[bool] = False


class RateLimitError(ProviderError):
    default_retryable: ClassVar[bool] = True


class ServerError(ProviderError):
    default_retryable: ClassVar[bool] = True


class ContentFilterError(ProviderError):
    default_retryable: ClassVar[bool] = False


class ContextLengthError(ProviderError):
    default_retryable: ClassVar[bool] = False


class QuotaExceededError(ProviderError):
    default_retryable: ClassVar[bool] = False


class LocalError(SDKError):
    """Base of the errors raised by the client itself (not in the spec tree: a helper class).

    They still remember the provider they happened with, when there is one.
    """

    def __init__(self, message: str, *, provider: str = "", cause: BaseException | None = None,
                 retryable: bool | None = None, status_code: int | None = None) -> None:
        super().__init__(message, cause=cause, retryable=retryable)
        self.provider = provider
        self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}" if self.provider else self.message


class RequestTimeoutError(LocalError):
    default_retryable: ClassVar[bool] = False


class AbortError(LocalError):
    default_retryable: ClassVar[bool] = False


class NetworkError(LocalError):
    default_retryable: ClassVar[bool] = True


class StreamError(LocalError):
    default_retryable: ClassVar[bool] = True


class InvalidToolCallError(LocalError):
    default_retryable: ClassVar[bool] = False


class UnsupportedToolChoiceError(LocalError):
    default_retryable: ClassVar[bool] = False


class NoObjectGeneratedError(LocalError):
    default_retryable: ClassVar[bool] = False


class ConfigurationError(LocalError):
    default_retryable: ClassVar[bool] = False


ALL_ERROR_TYPES: tuple[type[SDKError], ...] = (
    SDKError, ProviderError, AuthenticationError, AccessDeniedError, NotFoundError,
    InvalidRequestError, RateLimitError, ServerError, ContentFilterError, ContextLengthError,
    QuotaExceededError, RequestTimeoutError, AbortError, NetworkError, StreamError,
    InvalidToolCallError, UnsupportedToolChoiceError, NoObjectGeneratedError, ConfigurationError,
)
