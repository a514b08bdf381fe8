"""Errors, retries, timeouts, abort and trio cancellation against the fake server (spec §4.7, §6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

import pytest
import trio

from attractor_plugins.llm import errors as e
from attractor_plugins.llm.abort import AbortController
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.types import Message, Request, StreamEvent, StreamEventType

from .fake_server import STALL, FakeProvider, Pause, Reply, json_reply, wire_stream

REQ = Request(model="m", messages=[Message.user("hi")])


def error_body(message: str, code: str = "x") -> dict[str, Any]:
    return {"error": {"message": message, "type": code}}


class Retries:
    def __init__(self) -> None:
        self.seen: list[tuple[type[e.SDKError], int, float]] = []

    def __call__(self, error: e.SDKError, attempt: int, delay: float) -> None:
        self.seen.append((type(error), attempt, delay))


def client_with(fake: FakeProvider, retries: Retries | None = None, **table: Any) -> Client:
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{fake.url}/v1"}
    retry = {"base_delay": 0.01, "jitter": False, **table.pop("retry", {})}
    return Client.from_env(env, {"llm": {"retry": retry, **table}}, on_retry=retries)


async def test_429_retry_after_is_honoured_then_the_call_succeeds(fake: FakeProvider) -> None:
    fake.script(Reply(429, error_body("slow down"), headers={"retry-after": "0.05"}),
                Reply(json=json_reply("openai_responses", "ok")))
    retries = Retries()
    async with client_with(fake, retries, retry={"base_delay": 30.0}) as client:
        response = await client.complete(REQ)
    assert response.text == "ok"
    assert retries.seen == [(e.RateLimitError, 1, 0.05)]  # not the 30 s backoff
    assert len(fake.requests) == 2


async def test_retry_after_beyond_the_cap_raises_at_once_with_retry_after_set(
        fake: FakeProvider) -> None:
    fake.script(Reply(429, error_body("wait a while"), headers={"retry-after": "120"}))
    retries = Retries()
    async with client_with(fake, retries, retry={"max_delay": 5.0}) as client:
        with pytest.raises(e.RateLimitError) as caught:
            await client.complete(REQ)
    assert caught.value.retry_after == 120.0 and caught.value.retryable
    assert retries.seen == [] and len(fake.requests) == 1


async def test_500_is_retried_with_backoff_until_success(fake: FakeProvider) -> None:
    fake.script(Reply(500, error_body("boom")), Reply(503, error_body("busy")),
                Reply(json=json_reply("openai_responses", "ok")))
    retries = Retries()
    async with client_with(fake, retries, retry={"max_retries": 2}) as client:
        assert (await client.complete(REQ)).text == "ok"
    assert [(t, n) for t, n, _ in retries.seen] == [(e.ServerError, 1), (e.ServerError, 2)]
    assert [d for *_, d in retries.seen] == [0.01, 0.02]  # base * multiplier^n, no jitter


async def test_500_exhausts_the_retry_budget_and_raises_server_error(fake: FakeProvider) -> None:
    fake.script(*[Reply(500, error_body("boom"))] * 3)
    async with client_with(fake, retry={"max_retries": 1}) as client:
        with pytest.raises(e.ServerError) as caught:
            await client.complete(REQ)
    assert caught.value.status_code == 500 and caught.value.provider == "openai"
    assert len(fake.requests) == 2


async def test_401_is_an_authentication_error_and_is_not_retried(fake: FakeProvider) -> None:
    fake.script(Reply(401, error_body("Incorrect API key provided", "invalid_api_key")))
    async with client_with(fake) as client:
        with pytest.raises(e.AuthenticationError) as caught:
            await client.complete(REQ)
    assert not caught.value.retryable and caught.value.error_code == "invalid_api_key"
    assert len(fake.requests) == 1


async def test_400_with_context_length_text_is_a_context_length_error(fake: FakeProvider) -> None:
    message = "This model's maximum context length is 128000 tokens. Reduce the length."
    fake.script(Reply(400, error_body(message, "invalid_request_error")))
    async with client_with(fake) as client:
        with pytest.raises(e.ContextLengthError, match="maximum context length"):
            await client.complete(REQ)
    assert len(fake.requests) == 1


async def test_a_stalled_stream_times_out_after_the_events_it_delivered(
        fake: FakeProvider) -> None:
    fake.script(Reply(sse=[*wire_stream("openai_responses", ["par", "tial"])[:4], STALL]))
    received: list[StreamEvent] = []
    async with client_with(fake, timeouts={"stream_read": 0.2}) as client:
        with pytest.raises(e.RequestTimeoutError, match="stream stalled"):
            async with aclosing(client.stream(REQ)) as events:
                async for event in events:
                    received.append(event)
    assert [ev.delta for ev in received if ev.type == StreamEventType.TEXT_DELTA] == ["par", "tial"]
    assert len(fake.requests) == 1  # a timeout is not retried inside the call (spec §6.3)


async def test_a_stream_that_stalls_before_its_first_event_is_not_retried(
        fake: FakeProvider) -> None:
    fake.script(Reply(sse=[STALL]), Reply(sse=wire_stream("openai_responses", ["x"])))
    async with client_with(fake, timeouts={"stream_read": 0.2}) as client:
        with pytest.raises(e.RequestTimeoutError):
            async with aclosing(client.stream(REQ)) as events:
                _ = [ev async for ev in events]
    assert len(fake.requests) == 1


async def test_a_silent_server_times_out_a_complete_call(fake: FakeProvider) -> None:
    fake.script(Reply(sse=[STALL]))
    async with client_with(fake, timeouts={"request": 0.2}) as client:
        with pytest.raises(e.RequestTimeoutError, match="no answer within"):
            await client.complete(REQ)


async def test_a_stream_cut_before_its_finish_is_a_retryable_stream_error(
        fake: FakeProvider) -> None:
    cut = wire_stream("openai_responses", ["a", "b"])[:-1]  # no response.completed
    fake.script(Reply(sse=cut))
    async with client_with(fake) as client:
        with pytest.raises(e.StreamError, match="before the provider finished") as caught:
            async with aclosing(client.stream(REQ)) as events:
                _ = [ev async for ev in events]
    assert caught.value.retryable
    assert len(fake.requests) == 1  # events were delivered: never re-sent


async def test_a_stream_is_retried_only_before_its_first_event(fake: FakeProvider) -> None:
    fake.script(Reply(503, error_body("busy")),
                Reply(sse=wire_stream("openai_responses", ["fine"])))
    async with client_with(fake) as client, aclosing(client.stream(REQ)) as events:
        got = [ev async for ev in events]
    assert got[-1].response is not None and got[-1].response.text == "fine"
    assert len(fake.requests) == 2


async def test_abort_during_a_stream_is_an_abort_error_and_is_never_retried(
        fake: FakeProvider) -> None:
    fake.script(Reply(sse=[*wire_stream("openai_responses", ["a"])[:3], STALL]),
                Reply(sse=wire_stream("openai_responses", ["again"])))
    abort = AbortController()
    received: list[StreamEvent] = []
    async with client_with(fake) as client:
        with pytest.raises(e.AbortError, match="user gave up"):
            async with aclosing(client.stream(REQ, abort=abort)) as events:
                async for event in events:
                    received.append(event)
                    if event.type == StreamEventType.TEXT_DELTA:
                        abort.abort("user gave up")
    assert not e.AbortError("x").retryable
    assert len(fake.requests) == 1 and received[-1].delta == "a"


async def test_abort_while_waiting_in_backoff_stops_the_retries(fake: FakeProvider) -> None:
    fake.script(Reply(429, error_body("slow"), headers={"retry-after": "30"}),
                Reply(json=json_reply("openai_responses", "late")))
    abort = AbortController()
    async with client_with(fake) as client, trio.open_nursery() as nursery:
        outcome: list[BaseException] = []

        async def call() -> None:
            try:
                await client.complete(REQ, abort=abort)
            except e.SDKError as exc:
                outcome.append(exc)

        nursery.start_soon(call)
        while not fake.requests:
            await trio.sleep(0.01)
        await trio.sleep(0.05)
        abort.abort()
    assert [type(x) for x in outcome] == [e.AbortError]
    assert len(fake.requests) == 1


async def test_an_aborted_controller_refuses_new_requests(fake: FakeProvider) -> None:
    abort = AbortController()
    abort.abort("stop")
    async with client_with(fake) as client:
        with pytest.raises(e.AbortError):
            await client.complete(REQ, abort=abort)
    assert fake.requests == []


async def _cancel_once_received(fake: FakeProvider, count: int,
                                call: Callable[[], Awaitable[object]]) -> bool:
    """Run ``call`` and cancel it once the fake has its ``count``-th request (a loaded machine
    is slow to send it); True when the call was still running, i.e. really cancelled."""
    finished = False

    async def run() -> None:
        nonlocal finished
        await call()
        finished = True

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        with trio.fail_after(30):
            while len(fake.requests) < count:
                await trio.sleep(0.01)
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    return not finished


async def test_engine_cancellation_propagates_as_trio_cancelled_not_abort(
        fake: FakeProvider) -> None:
    """A cancel scope of the caller ends the call silently; nothing is retried or converted."""
    fake.script(Reply(sse=[STALL]), Reply(sse=[*wire_stream("openai_responses", ["a"])[:3],
                                               STALL]))
    async with client_with(fake, retry={"max_retries": 5}) as client:
        assert await _cancel_once_received(fake, 1, lambda: client.complete(REQ))

        async def stream() -> None:
            async with aclosing(client.stream(REQ)) as events:
                async for _ in events:
                    pass

        assert await _cancel_once_received(fake, 2, stream)
    assert len(fake.requests) == 2


async def test_engine_cancellation_stays_cancelled_when_an_abort_controller_is_present(
        fake: FakeProvider) -> None:
    fake.script(Reply(sse=[*wire_stream("openai_responses", ["a"])[:3], STALL]))
    abort = AbortController()
    async with client_with(fake) as client:
        with trio.move_on_after(0.3) as scope:
            async with aclosing(client.stream(REQ, abort=abort)) as events:
                async for _ in events:
                    pass
    assert scope.cancelled_caught and not abort.aborted and len(fake.requests) == 1


async def test_cancelled_reaches_the_caller_even_inside_a_backoff_sleep(
        fake: FakeProvider) -> None:
    fake.script(Reply(500, error_body("boom")), Reply(json=json_reply("openai_responses", "x")))
    async with client_with(fake, retry={"base_delay": 30.0}) as client:
        with trio.move_on_after(0.3) as scope:
            await client.complete(REQ)
    assert scope.cancelled_caught and len(fake.requests) == 1


async def test_unreachable_endpoint_is_a_retryable_network_error() -> None:
    with trio.socket.socket() as sock:  # a port nobody listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    retries = Retries()
    config = {"llm": {"retry": {"max_retries": 2, "base_delay": 0.01}}}
    async with Client.from_env(env, config, on_retry=retries) as client:
        with pytest.raises(e.NetworkError) as caught:
            await client.complete(REQ)
    assert caught.value.retryable
    assert [(t, n) for t, n, _ in retries.seen] == [(e.NetworkError, 1), (e.NetworkError, 2)]


async def test_unknown_provider_is_a_configuration_error(fake: FakeProvider) -> None:
    async with client_with(fake) as client:
        with pytest.raises(e.ConfigurationError, match="'nope' is not configured"):
            await client.complete(Request(model="m", messages=[Message.user("x")],
                                          provider="nope"))


async def test_slow_but_alive_stream_is_not_a_stall(fake: FakeProvider) -> None:
    events = wire_stream("openai_responses", ["a", "b", "c"])
    paced: list[str | Pause] = []
    for chunk in events:
        paced += [chunk, Pause(0.05)]
    fake.script(Reply(sse=paced))
    async with client_with(fake, timeouts={"stream_read": 1.0}) as client, \
            aclosing(client.stream(REQ)) as stream:
        got = [ev async for ev in stream]
    assert got[-1].response is not None and got[-1].response.text == "abc"
