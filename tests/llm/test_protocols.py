"""Each native protocol against the fake server: text, usage, streams, tool calls (spec §3, §7)."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import pytest

from attractor_plugins.llm.client import Client
from attractor_plugins.llm.errors import InvalidToolCallError
from attractor_plugins.llm.types import (
    Message,
    Request,
    Response,
    StreamEvent,
    StreamEventType,
    ToolChoice,
    ToolDefinition,
    Usage,
)

from .conftest import PROTOCOLS, MakeClient, complete_path, stream_path
from .fake_server import FakeProvider, Reply, json_reply, wire_anthropic, wire_stream

NATIVE_USAGE: dict[str, dict[str, Any]] = {
    "openai_responses": {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18,
                         "output_tokens_details": {"reasoning_tokens": 3},
                         "input_tokens_details": {"cached_tokens": 5}},
    "openai_chat": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                    "completion_tokens_details": {"reasoning_tokens": 3},
                    "prompt_tokens_details": {"cached_tokens": 5}},
    "anthropic": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 5,
                  "cache_creation_input_tokens": 2},
    "gemini": {"promptTokenCount": 11, "candidatesTokenCount": 7, "totalTokenCount": 18,
               "thoughtsTokenCount": 3, "cachedContentTokenCount": 5},
}

WRITE_TOOL = ToolDefinition("write_file", "Write a file", {
    "type": "object", "properties": {"path": {"type": "string"}, "text": {"type": "string"}},
    "required": ["path", "text"]})


def expected_usage(protocol: str) -> tuple[int, int, int, int | None, int | None, int | None]:
    reasoning = None if protocol == "anthropic" else 3
    write = 2 if protocol == "anthropic" else None
    return (11, 7, 18, reasoning, 5, write)


def usage_tuple(u: Usage) -> tuple[int, int, int, int | None, int | None, int | None]:
    return (u.input_tokens, u.output_tokens, u.total_tokens, u.reasoning_tokens,
            u.cache_read_tokens, u.cache_write_tokens)


def request(protocol: str, *messages: Message, **kw: Any) -> Request:
    return Request(model="m", messages=messages or (Message.system("Be brief."),
                                                    Message.user("Say hello")), **kw)


async def collect(client: Client, req: Request) -> list[StreamEvent]:
    async with aclosing(client.stream(req)) as events:
        return [event async for event in events]


def kinds(events: list[StreamEvent]) -> list[StreamEventType | str]:
    return [e.type for e in events]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_complete_returns_text_finish_reason_and_usage(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(json=json_reply(protocol, "Hello there", usage=NATIVE_USAGE[protocol])))
    async with make_client(protocol) as client:
        response = await client.complete(request(protocol))
    assert response.text == "Hello there"
    assert response.finish_reason.reason == "stop"
    assert usage_tuple(response.usage) == expected_usage(protocol)
    assert fake.requests[0].path.split("?")[0] == complete_path(protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stream_emits_deltas_then_finish_with_accumulated_response(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(sse=wire_stream(protocol, ["Hel", "lo ", "there"],
                                      usage=NATIVE_USAGE[protocol])))
    async with make_client(protocol) as client:
        events = await collect(client, request(protocol))
    deltas = [e.delta for e in events if e.type == StreamEventType.TEXT_DELTA]
    assert deltas == ["Hel", "lo ", "there"]
    order = kinds(events)
    assert order[0] == StreamEventType.STREAM_START and order[-1] == StreamEventType.FINISH
    assert order.index(StreamEventType.TEXT_START) < order.index(StreamEventType.TEXT_DELTA)
    assert StreamEventType.TEXT_END in order
    finish = events[-1]
    assert finish.response is not None and finish.response.text == "Hello there"
    assert finish.finish_reason is not None and finish.finish_reason.reason == "stop"
    assert finish.usage is not None and usage_tuple(finish.usage) == expected_usage(protocol)
    assert fake.requests[0].path.split("?")[0] == stream_path(protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streamed_tool_call_round_trips_with_its_result(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    pieces = ['{"path": "a.t', 'xt", "text"', ': "hi"}']
    fake.script(Reply(sse=wire_stream(protocol, calls=[("call_1", "write_file", pieces)])),
                Reply(sse=wire_stream(protocol, ["done"])))
    first = request(protocol, Message.user("write it"), tools=[WRITE_TOOL],
                    tool_choice=ToolChoice("auto"))
    async with make_client(protocol) as client:
        events = await collect(client, first)
        ends = [e.tool_call for e in events if e.type == StreamEventType.TOOL_CALL_END]
        assert [(c.name, dict(c.arguments)) for c in ends if c] == [
            ("write_file", {"path": "a.txt", "text": "hi"})]
        response = events[-1].response
        assert isinstance(response, Response)
        assert response.finish_reason.reason == "tool_calls"
        call = response.tool_calls[0]
        follow = request(protocol, Message.user("write it"), response.message,
                         Message.tool_result(call.id, "wrote 2 bytes"), tools=[WRITE_TOOL])
        final = await collect(client, follow)
    assert final[-1].response is not None and final[-1].response.text == "done"
    assert_tool_definition_sent(protocol, fake.requests[0].body)
    assert_tool_result_sent(protocol, fake.requests[1].body, call.id)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_complete_parses_tool_calls(protocol: str, fake: FakeProvider,
                                          make_client: MakeClient) -> None:
    fake.script(Reply(json=json_reply(protocol, calls=[("c9", "write_file",
                                                        '{"path": "x", "text": "y"}')])))
    async with make_client(protocol) as client:
        response = await client.complete(request(protocol, Message.user("go"),
                                                 tools=[WRITE_TOOL]))
    assert response.finish_reason.reason == "tool_calls"
    assert [(c.name, dict(c.arguments)) for c in response.tool_calls] == [
        ("write_file", {"path": "x", "text": "y"})]
    assert all(c.id for c in response.tool_calls)


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p != "gemini"])
async def test_malformed_tool_call_json_raises_invalid_tool_call(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    bad = ['{"path": "a.txt", "text": ', '"unterminated']
    fake.script(Reply(sse=wire_stream(protocol, calls=[("c1", "write_file", bad)])))
    if protocol != "anthropic":
        fake.script(Reply(json=json_reply(protocol, calls=[("c2", "write_file", "[1, 2")])))
    async with make_client(protocol) as client:
        with pytest.raises(InvalidToolCallError, match="write_file"):
            await collect(client, request(protocol, tools=[WRITE_TOOL]))
        if protocol != "anthropic":
            with pytest.raises(InvalidToolCallError, match="not valid JSON"):
                await client.complete(request(protocol, tools=[WRITE_TOOL]))
    assert len(fake.requests) == (1 if protocol == "anthropic" else 2)  # never retried


async def test_anthropic_thinking_round_trips_with_signature(
        fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(sse=wire_anthropic(["ok"], thinking="let me see")),
                Reply(sse=wire_anthropic(["again"])))
    async with make_client("anthropic") as client:
        events = await collect(client, request("anthropic"))
        response = events[-1].response
        assert response is not None and response.reasoning == "let me see"
        assert response.usage.reasoning_tokens == 2  # estimated from 10 characters
        assert [e.reasoning_delta for e in events
                if e.type == StreamEventType.REASONING_DELTA] == ["let me see"]
        await collect(client, request("anthropic", Message.user("q"), response.message,
                                      Message.user("more")))
    sent = fake.requests[1].body["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": "let me see", "signature": "sig-1"}


async def test_anthropic_merges_same_role_messages_and_sends_beta_headers(
        fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(json=json_reply("anthropic", "ok")))
    req = Request(model="m", messages=[Message.system("S1"), Message.developer("S2"),
                                       Message.user("a"), Message.user("b")],
                  provider_options={"anthropic": {"beta_headers": ["x-1", "y-2"],
                                                  "top_k": 3}})
    async with make_client("anthropic") as client:
        await client.complete(req)
    sent = fake.requests[0]
    assert sent.headers["anthropic-beta"] == "x-1,y-2"
    assert sent.headers["x-api-key"] == "ak-test"
    cached = {"cache_control": {"type": "ephemeral"}}  # automatic prompt caching
    assert sent.body["system"] == [{"type": "text", "text": "S1\n\nS2", **cached}]
    assert sent.body["max_tokens"] == 4096 and sent.body["top_k"] == 3
    assert "beta_headers" not in sent.body
    assert sent.body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b", **cached}]}]


async def test_anthropic_tool_choice_none_leaves_tools_out(
        fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(json=json_reply("anthropic", "ok")))
    async with make_client("anthropic") as client:
        await client.complete(request("anthropic", Message.user("x"), tools=[WRITE_TOOL],
                                      tool_choice=ToolChoice("none")))
    assert "tools" not in fake.requests[0].body and "tool_choice" not in fake.requests[0].body


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_auth_travels_in_the_protocols_header(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(Reply(json=json_reply(protocol, "ok")))
    async with make_client(protocol) as client:
        await client.complete(request(protocol))
    headers, path = fake.requests[0].headers, fake.requests[0].path
    expected = {"openai_responses": ("authorization", "Bearer sk-test"),
                "anthropic": ("x-api-key", "ak-test"), "gemini": ("x-goog-api-key", "gk-test")}
    if protocol in expected:
        name, value = expected[protocol]
        assert headers[name] == value
    else:
        assert "authorization" not in headers  # keyless compatible endpoint
    assert "key=" not in path


def assert_tool_definition_sent(protocol: str, body: dict[str, Any]) -> None:
    schema = dict(WRITE_TOOL.parameters)
    if protocol == "openai_responses":
        assert body["tools"] == [{"type": "function", "name": "write_file",
                                  "description": "Write a file", "parameters": schema}]
        assert body["tool_choice"] == "auto"
    elif protocol == "openai_chat":
        assert body["tools"][0]["function"]["parameters"] == schema
    elif protocol == "anthropic":
        assert body["tools"][0]["input_schema"] == schema
        assert body["tool_choice"] == {"type": "auto"}
    else:
        assert body["tools"][0]["functionDeclarations"][0]["parameters"] == schema
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def assert_tool_result_sent(protocol: str, body: dict[str, Any], call_id: str) -> None:
    text = json.dumps(body)
    if protocol == "openai_responses":
        kinds = [item.get("type") for item in body["input"]]
        assert kinds == ["message", "function_call", "function_call_output"]
        assert body["input"][2] == {"type": "function_call_output", "call_id": call_id,
                                    "output": "wrote 2 bytes"}
    elif protocol == "openai_chat":
        assert body["messages"][-1] == {"role": "tool", "tool_call_id": call_id,
                                        "content": "wrote 2 bytes"}
        assert body["messages"][-2]["tool_calls"][0]["id"] == call_id
    elif protocol == "anthropic":
        assert body["messages"][-1] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": "wrote 2 bytes",
             "is_error": False, "cache_control": {"type": "ephemeral"}}]}
        assert body["messages"][-2]["content"][0]["type"] == "tool_use"
    else:
        assert body["contents"][-1] == {"role": "user", "parts": [{"functionResponse": {
            "name": "write_file", "response": {"result": "wrote 2 bytes"}}}]}
    assert "wrote 2 bytes" in text


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streamed_calls_that_stop_at_finish_reuse_one_connection(
        protocol: str, fake: FakeProvider, make_client: MakeClient) -> None:
    """A caller that stops reading at the finish event (as the api backend does) leaves the
    connection reusable: what the provider sends after it is read, not dropped with it."""
    for _ in range(3):
        fake.script(Reply(sse=wire_stream(protocol, ["Hi"], usage=NATIVE_USAGE[protocol])))
    async with make_client(protocol) as client:
        for _ in range(3):
            async with aclosing(client.stream(request(protocol))) as events:
                async for event in events:
                    if event.type == StreamEventType.FINISH:
                        break
    assert len(fake.requests) == 3
    assert fake.connections == 1
