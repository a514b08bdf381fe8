"""Anthropic prompt caching (unified-llm-spec §2.10): automatic breakpoints, reported reads."""

from __future__ import annotations

import json

from tests.llm.fake_server import Reply, wire_anthropic

from .support import read_json
from .test_api_agent import agent_pipeline, run_in_process

MESSAGES = "/v1/messages"


def options(fake) -> dict:
    return {"backend": "api", "llm": {
        "providers": {"fake": {"protocol": "anthropic", "api_key_env": "", "base_url": fake.url}},
        "retry": {"max_retries": 0}}}


def breakpoints(body) -> list[str]:
    """Where the request's cache_control marks are: system, tool NAME, or message INDEX."""
    found = [f"system {i}" for i, b in enumerate(body.get("system") or [])
             if isinstance(b, dict) and "cache_control" in b]
    found += [f"tool {t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    for index, message in enumerate(body["messages"]):
        found += [f"message {index} {b['type']}" for b in message["content"]
                  if "cache_control" in b]
    return found


async def test_agent_turns_carry_breakpoints_and_the_second_reads_the_cache(tmp_path, fake):
    write = {"file_path": "hello.txt", "content": "hi\n"}
    fake.script(
        Reply(sse=wire_anthropic(calls=[("t1", "write_file", [json.dumps(write)])], usage={
            "input_tokens": 40, "cache_creation_input_tokens": 1800, "output_tokens": 12})),
        Reply(sse=wire_anthropic(text=["Created hello.txt."], usage={
            "input_tokens": 30, "cache_read_input_tokens": 1800,
            "cache_creation_input_tokens": 60, "output_tokens": 5})),
        path=MESSAGES)
    record, logs, work = await run_in_process(tmp_path, fake, agent_pipeline(), options(fake))
    assert record.status == "success", record.failure_reason
    assert (work / "hello.txt").read_text() == "hi\n"
    first, second = (r.body for r in fake.requests)
    last_tool = first["tools"][-1]["name"]
    assert breakpoints(first) == ["system 0", f"tool {last_tool}", "message 0 text"]
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    # The new turn is written to the cache; the prefix the first request wrote is read back.
    assert breakpoints(second) == ["system 0", f"tool {last_tool}", "message 0 text",
                                   "message 2 tool_result"]
    usage = read_json(logs / "code" / "agent_calls.json")["usage"]
    assert (usage["cache_read_tokens"], usage["cache_write_tokens"]) == (1800, 1860)
    last = read_json(logs / "code" / "api_response.json")["usage"]
    assert (last["cache_read_tokens"], last["cache_write_tokens"]) == (1800, 60)


async def test_auto_cache_false_sends_no_breakpoint(tmp_path, fake):
    fake.script(Reply(sse=wire_anthropic(text=["Nothing to do."])), path=MESSAGES)
    dot = agent_pipeline(', provider_options="{\\"fake\\": {\\"auto_cache\\": false}}"')
    record, _, _ = await run_in_process(tmp_path, fake, dot, options(fake))
    assert record.status == "success", record.failure_reason
    body = fake.requests[0].body
    assert "cache_control" not in json.dumps(body) and "auto_cache" not in body
    assert isinstance(body["system"], str)
