"""The Anthropic adapter's automatic cache breakpoints never exceed Anthropic's four."""

from __future__ import annotations

import json

from attractor_plugins.llm.types import Message, Request, ToolDefinition

from .conftest import MakeClient
from .fake_server import FakeProvider, Reply, json_reply

TOOL = ToolDefinition("look", "Look", {"type": "object", "properties": {}})


def marks(body: dict) -> int:
    return json.dumps(body).count('"cache_control"')


async def test_breakpoints_set_through_provider_options_count_against_the_four(
        fake: FakeProvider, make_client: MakeClient) -> None:
    fake.script(*[Reply(json=json_reply("anthropic", text="ok"))] * 2, path="/v1/messages")
    conversation = [Message.system("be brief"), Message.user("one"), Message.assistant("1"),
                    Message.user("two"), Message.assistant("2"), Message.user("three")]
    pinned = [{"type": "text", "text": "pinned context",
               "cache_control": {"type": "ephemeral"}},
              {"type": "text", "text": "more", "cache_control": {"type": "ephemeral"}}]
    async with make_client("anthropic") as client:
        await client.complete(Request("m", conversation, tools=[TOOL]))
        await client.complete(Request("m", conversation, tools=[TOOL],
                                      provider_options={"anthropic": {"system": pinned}}))
    auto, pinned_body = (r.body for r in fake.requests)
    assert marks(auto) == 4
    assert auto["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" in auto["messages"][-3]["content"][-1]  # the user turn before it
    assert "cache_control" not in auto["messages"][0]["content"][-1]
    # Two marks came with the request: only two more are added (the system prompt's last block
    # already has one; then the tools and the newest message).
    assert marks(pinned_body) == 4
    assert "cache_control" in pinned_body["tools"][-1]
    assert "cache_control" in pinned_body["messages"][-1]["content"][-1]
    assert "cache_control" not in pinned_body["messages"][-3]["content"][-1]
