"""The agent loop over every wire protocol of the client: same tool calls, same result."""

from __future__ import annotations

import json

import pytest

from tests.llm.conftest import PROTOCOLS, stream_path
from tests.llm.fake_server import Reply, wire_stream

from .test_api_agent import run_in_process

PIPELINE = """digraph proto {
  start [shape=Mdiamond]; done [shape=Msquare]
  code [prompt="Create notes.txt", llm_provider=p, llm_model="m"]
  start -> code -> done
}"""


def provider_table(protocol: str, url: str) -> dict:
    base = f"{url}/v1" if protocol.startswith("openai") else url
    return {"providers": {"p": {"protocol": protocol, "api_key_env": "", "base_url": base}},
            "retry": {"max_retries": 0}}


def tool_call(protocol: str, call_id: str, name: str, args: dict) -> Reply:
    return Reply(sse=wire_stream(protocol, calls=[(call_id, name, [json.dumps(args)])]))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_agent_writes_and_reads_a_file_over_each_protocol(tmp_path, fake, protocol):
    path = stream_path(protocol)
    fake.script(tool_call(protocol, "c1", "write_file",
                          {"file_path": "notes.txt", "content": "first line\n"}),
                tool_call(protocol, "c2", "read_file", {"file_path": "notes.txt"}),
                Reply(sse=wire_stream(protocol, text=["notes.txt written"])), path=path)
    record, logs, work = await run_in_process(
        tmp_path, fake, PIPELINE, {"backend": "api", "llm": provider_table(protocol, fake.url)})
    assert record.status == "success", record.failure_reason
    assert (work / "notes.txt").read_text() == "first line\n"
    assert (logs / "code" / "response.md").read_text() == "notes.txt written"
    # The read_file result travelled back to the provider in its native shape.
    assert "   1 | first line" in json.dumps(fake.requests[2].body)
    assert [p.split("?")[0] for p in fake.paths()] == [path] * 3


async def test_google_is_an_alias_of_the_gemini_provider(tmp_path, fake):
    fake.script(Reply(sse=wire_stream("gemini", text=["hello"])), path=stream_path("gemini"))
    dot = PIPELINE.replace("llm_provider=p", "llm_provider=google").replace(
        'prompt="Create notes.txt"', 'prompt="Say hello", codergen.mode="oneshot"')
    llm = {"providers": {"gemini": {"api_key_env": "", "base_url": fake.url}},
           "retry": {"max_retries": 0}}
    record, logs, _ = await run_in_process(tmp_path, fake, dot, {"backend": "api", "llm": llm})
    assert record.status == "success", record.failure_reason
    assert (logs / "code" / "response.md").read_text() == "hello"
