"""SSE framing survives any split into TCP writes, CRLF line ends, comments and multi-line data."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from attractor_plugins.llm import errors as e
from attractor_plugins.llm.types import Message, Request, StreamEventType, ToolChoice

from .conftest import PROTOCOLS, MakeClient
from .fake_server import FakeProvider, Pause, Reply, sse, wire_stream

REQ = Request(model="m", messages=[Message.user("x")])


def split(text: str, size: int) -> list[str | Pause]:
    out: list[str | Pause] = []
    for start in range(0, len(text), size):
        out += [text[start:start + size], Pause(0)]  # Pause(0) lets each piece leave on its own
    return out


@pytest.mark.parametrize("size", [3, 17, 101])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_any_split_of_the_byte_stream_gives_the_same_response(
        protocol: str, size: int, fake: FakeProvider, make_client: MakeClient) -> None:
    whole = "".join(str(c) for c in wire_stream(protocol, ["é ", "ü ", "ok"],
                                                calls=[("c1", "t", ['{"a"', ": 1}"])]))
    fake.script(Reply(sse=split(whole.replace("\n", "\r\n"), size)))
    async with make_client(protocol) as client, aclosing(client.stream(REQ)) as events:
        got = [ev async for ev in events]
    response = got[-1].response
    assert response is not None and response.text == "é ü ok"
    assert [(c.name, dict(c.arguments)) for c in response.tool_calls] == [("t", {"a": 1})]


async def test_comments_ids_retry_lines_and_multi_line_data_are_understood(
        fake: FakeProvider, make_client: MakeClient) -> None:
    chunks = [": keep-alive\n\n", "retry: 1000\nid: 7\n",
              'data: {"id": "x", "model": "m", "choices": [{"index": 0,\n',
              'data:  "delta": {"content": "multi"}}]}\n\n',
              *wire_stream("openai_chat", [" line"])]
    fake.script(Reply(sse=chunks))
    async with make_client("openai_chat") as client, aclosing(client.stream(REQ)) as events:
        got = [ev async for ev in events]
    assert [ev.delta for ev in got if ev.type == StreamEventType.TEXT_DELTA] == ["multi", " line"]


async def test_non_json_stream_data_is_a_stream_error(fake: FakeProvider,
                                                      make_client: MakeClient) -> None:
    fake.script(Reply(sse=[sse("not json at all")]))
    async with make_client("openai_chat", retry={"max_retries": 0}) as client:
        with pytest.raises(e.StreamError, match="not JSON"):
            async with aclosing(client.stream(REQ)) as events:
                _ = [ev async for ev in events]


@pytest.mark.parametrize("protocol", ["openai_responses", "openai_chat", "anthropic"])
async def test_an_error_event_inside_a_stream_raises_the_mapped_error(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    if protocol == "anthropic":
        chunk = sse({"type": "error", "error": {"type": "overloaded_error",
                                                "message": "Overloaded"}}, "error")
        expected: type[e.SDKError] = e.ServerError
    else:  # Gemini reports errors as HTTP answers only, never inside a stream
        chunk = sse({"type": "error", "error": {"code": "rate_limit_exceeded",
                                                "message": "Rate limit reached"}})
        expected = e.RateLimitError
    fake.script(Reply(sse=[chunk]))
    async with make_client(protocol, retry={"max_retries": 0}) as client:
        with pytest.raises(expected):
            async with aclosing(client.stream(REQ)) as events:
                _ = [ev async for ev in events]


async def test_gemini_function_args_that_are_not_an_object_are_an_invalid_tool_call(
        fake: FakeProvider, make_client: MakeClient) -> None:
    body = {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "t", "args": [1, 2]}}]}, "finishReason": "STOP"}]}
    fake.script(Reply(json=body))
    async with make_client("gemini") as client:
        with pytest.raises(e.InvalidToolCallError, match="'t'"):
            await client.complete(REQ)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_named_tool_choice_without_a_name_is_unsupported(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    req = Request(model="m", messages=[Message.user("x")], tool_choice=ToolChoice("named"))
    async with make_client(protocol) as client:
        with pytest.raises(e.UnsupportedToolChoiceError, match="named needs tool_name"):
            await client.complete(req)
    assert fake.requests == []
