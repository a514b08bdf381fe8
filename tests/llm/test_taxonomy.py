"""Every unified error type and every status of the spec's tables -> class and signature.

Spec §6.3/§6.4 tables. Status rows go through the
real HTTP path (fake server -> adapter -> error) and then the taxonomy, so
the two tables cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from attractor_core.model import Node, Outcome
from attractor_core.plugins import make_plugin_manager
from attractor_plugins.llm import errors as e
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.failover import FailoverForbiddenError
from attractor_plugins.llm.taxonomy import (
    classify_error,
    classify_outcome,
    classify_record,
    error_record,
)
from attractor_plugins.llm.types import Message, Request

from .fake_server import FakeProvider, Reply

T, D, C = "transient_infra", "deterministic", "canceled"

# Every type of the hierarchy (spec §6.1) plus our pinned-policy error.
TYPE_TABLE: list[tuple[type[e.SDKError], str, str, bool]] = [
    (e.AuthenticationError, D, "authentication", False),
    (e.AccessDeniedError, D, "access_denied", False),
    (e.NotFoundError, D, "not_found", False),
    (e.InvalidRequestError, D, "invalid_request", False),
    (e.RateLimitError, T, "rate_limited", True),
    (e.ServerError, T, "server_error", True),
    (e.ContentFilterError, D, "content_filter", False),
    (e.ContextLengthError, D, "context_length", False),
    (e.QuotaExceededError, D, "quota_exceeded", False),
    (e.RequestTimeoutError, T, "timeout", False),
    (e.AbortError, C, "abort", False),
    (e.NetworkError, T, "network", True),
    (e.StreamError, T, "stream", True),
    (e.InvalidToolCallError, D, "invalid_tool_call", False),
    (e.UnsupportedToolChoiceError, D, "unsupported_tool_choice", False),
    (e.NoObjectGeneratedError, D, "no_object_generated", False),
    (e.ConfigurationError, D, "configuration", False),
    (FailoverForbiddenError, D, "failover_forbidden", False),
    (e.ProviderError, T, "transient", True),  # unknown provider error: spec default retryable
    (e.SDKError, T, "transient", True),  # no known kind at all: the same default
]

# Spec §6.4 HTTP table, each range at both ends and inside.
STATUS_TABLE: list[tuple[int, type[e.SDKError], str]] = [
    (400, e.InvalidRequestError, D), (401, e.AuthenticationError, D),
    (403, e.AccessDeniedError, D), (404, e.NotFoundError, D),
    (408, e.RequestTimeoutError, T), (413, e.ContextLengthError, D),
    (422, e.InvalidRequestError, D), (429, e.RateLimitError, T),
    (500, e.ServerError, T), (501, e.ServerError, T), (502, e.ServerError, T),
    (503, e.ServerError, T), (504, e.ServerError, T), (505, e.ServerError, T),
    (550, e.ServerError, T), (599, e.ServerError, T),
    (418, e.ProviderError, T),  # not in any table: unknown, retryable by default
]

GRPC_TABLE: list[tuple[str, int, type[e.SDKError], str]] = [
    ("NOT_FOUND", 404, e.NotFoundError, D),
    ("INVALID_ARGUMENT", 400, e.InvalidRequestError, D),
    ("UNAUTHENTICATED", 401, e.AuthenticationError, D),
    ("PERMISSION_DENIED", 403, e.AccessDeniedError, D),
    ("RESOURCE_EXHAUSTED", 429, e.RateLimitError, T),
    ("UNAVAILABLE", 503, e.ServerError, T),
    ("DEADLINE_EXCEEDED", 504, e.RequestTimeoutError, T),
    ("INTERNAL", 500, e.ServerError, T),
]

# Spec §6.5 message classification (plus quota/billing) on an ambiguous 400.
MESSAGE_TABLE: list[tuple[int, str, type[e.SDKError], str]] = [
    (400, "model gpt-x not found", e.NotFoundError, D),
    (400, "the model does not exist", e.NotFoundError, D),
    (400, "unauthorized request", e.AuthenticationError, D),
    (400, "invalid key supplied", e.AuthenticationError, D),
    (400, "input exceeds the context length", e.ContextLengthError, D),
    (422, "too many tokens in prompt", e.ContextLengthError, D),
    (400, "blocked by the content filter", e.ContentFilterError, D),
    (400, "response blocked for safety reasons", e.ContentFilterError, D),
    (400, "your billing details are missing", e.QuotaExceededError, D),
    (429, "You exceeded your current quota", e.QuotaExceededError, D),
    (429, "rate limited, retry later", e.RateLimitError, T),
    (400, "temperature must be <= 2", e.InvalidRequestError, D),
]

REQ = Request(model="m", messages=[Message.user("x")])


def openai_client(fake: FakeProvider) -> Client:
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{fake.url}/v1"}
    return Client.from_env(env, {"llm": {"retry": {"max_retries": 0}}})


async def failing_call(fake: FakeProvider, reply: Reply, protocol: str = "openai") -> e.SDKError:
    fake.script(reply)
    if protocol == "gemini":
        env = {"GEMINI_API_KEY": "k", "GEMINI_BASE_URL": fake.url}
        client = Client.from_env(env, {"llm": {"retry": {"max_retries": 0}}})
    else:
        client = openai_client(fake)
    async with client:
        with pytest.raises(e.SDKError) as caught:
            await client.complete(REQ)
    return caught.value


def make(cls: type[e.SDKError]) -> e.SDKError:
    if issubclass(cls, e.ProviderError):
        return cls("boom", provider="openai", status_code=None)
    if cls is e.SDKError:
        return e.SDKError("boom")
    return cls("boom", provider="openai")  # type: ignore[call-arg]


@pytest.mark.parametrize(("cls", "klass", "detail", "retryable"), TYPE_TABLE,
                         ids=[row[0].__name__ for row in TYPE_TABLE])
def test_every_error_type_has_a_class_signature_and_retryable_flag(
        cls: type[e.SDKError], klass: str, detail: str, retryable: bool) -> None:
    error = make(cls)
    assert error.retryable is retryable
    failure = classify_error(error)
    provider = "unknown" if cls is e.SDKError else "openai"
    assert (failure.failure_class, failure.signature) == (klass, f"api_{klass}|{provider}|{detail}")
    # The record a backend stores in details["llm_error"] classifies the same way.
    assert classify_record(error_record(error)) == failure


def test_the_tables_cover_the_whole_hierarchy() -> None:
    assert {row[0] for row in TYPE_TABLE} >= set(e.ALL_ERROR_TYPES)


@pytest.mark.parametrize(("status", "cls", "klass"), STATUS_TABLE,
                         ids=[str(row[0]) for row in STATUS_TABLE])
async def test_http_status_maps_to_type_and_class_through_the_client(
        fake: FakeProvider, status: int, cls: type[e.SDKError], klass: str) -> None:
    error = await failing_call(fake, Reply(status, {"error": {"message": "it failed"}}))
    assert type(error) is cls
    assert getattr(error, "status_code", None) == status
    assert classify_error(error).failure_class == klass
    assert classify_record({"status": status, "provider": "openai"}).failure_class == klass


@pytest.mark.parametrize(("code", "status", "cls", "klass"), GRPC_TABLE,
                         ids=[row[0] for row in GRPC_TABLE])
async def test_gemini_grpc_status_maps_to_type_and_class(
        fake: FakeProvider, code: str, status: int, cls: type[e.SDKError], klass: str) -> None:
    body = {"error": {"code": status, "message": "failed", "status": code}}
    error = await failing_call(fake, Reply(status, body), protocol="gemini")
    assert type(error) is cls and error.provider_name == "gemini"
    assert classify_error(error).failure_class == klass


@pytest.mark.parametrize(("status", "message", "cls", "klass"), MESSAGE_TABLE,
                         ids=[row[1] for row in MESSAGE_TABLE])
async def test_message_text_refines_ambiguous_statuses(
        fake: FakeProvider, status: int, message: str, cls: type[e.SDKError], klass: str) -> None:
    error = await failing_call(fake, Reply(status, {"error": {"message": message}}))
    assert type(error) is cls
    assert classify_error(error).failure_class == klass


def test_trio_cancellation_is_canceled_not_deterministic() -> None:
    cancelled = trio.Cancelled._create()  # what a cancel scope raises
    failure = classify_error(cancelled, provider="anthropic")
    assert failure.failure_class == C
    assert failure.signature == "api_canceled|anthropic|cancelled"


@pytest.mark.parametrize(("record", "klass", "detail"), [
    ({"type": "BrandNewError", "provider": "x"}, T, "transient"),
    ({"type": "BrandNewError", "provider": "x", "retryable": True}, T, "transient"),
    ({"type": "BrandNewError", "provider": "x", "retryable": False}, D, "deterministic"),
    ({"type": "ProviderError", "status": 418, "provider": "x"}, T, "http_418"),
    ({"type": "ProviderError", "status": 503, "provider": "x"}, T, "server_error"),
    ({"type": "KeyError", "provider": "x", "retryable": None}, T, "transient"),
])
def test_unknown_errors_follow_the_spec_retryable_default(
        record: dict[str, Any], klass: str, detail: str) -> None:
    failure = classify_record(record)
    assert (failure.failure_class, failure.detail) == (klass, detail)


def hook_answer(outcome: Outcome, reason: str, error: BaseException | None = None) -> str | None:
    pm = make_plugin_manager()
    return pm.hook.attractor_classify_failure(reason=reason, node=Node("n1"), outcome=outcome,
                                              error=error)  # type: ignore[no-any-return]


def test_classifier_hook_answers_from_the_llm_error_before_the_text_heuristics() -> None:
    # The reason text alone would be "transient_infra" (HTTP 503); the typed error decides.
    record = error_record(e.AuthenticationError("bad key", provider="openai", status_code=401))
    outcome = Outcome.fail("HTTP 503 service unavailable", details={"llm_error": record})
    assert hook_answer(outcome, outcome.failure_reason) == D
    aborted = Outcome.fail("request aborted", details={"llm_error": error_record(
        e.AbortError("user gave up", provider="openai"))})
    assert hook_answer(aborted, aborted.failure_reason) == C


def test_classifier_hook_leaves_other_failures_to_the_heuristics() -> None:
    plain = Outcome.fail("HTTP 503 service unavailable")
    assert classify_outcome(plain, None) is None
    assert hook_answer(plain, plain.failure_reason) == T  # answered by the built-in heuristics
    assert hook_answer(Outcome.fail("assertion failed"), "assertion failed") is None


def test_classifier_hook_reads_an_error_passed_directly() -> None:
    outcome = Outcome.fail("x")
    assert hook_answer(outcome, "x", e.InvalidToolCallError("bad args")) == D
    assert hook_answer(outcome, "x", e.RateLimitError("slow", provider="p")) == T
