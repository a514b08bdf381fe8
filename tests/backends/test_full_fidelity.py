"""``full`` fidelity (spec §5.3 step 6, §5.4): stages on one thread continue one conversation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import trio

from attractor_core.engine import resume_pipeline, run_pipeline
from attractor_core.model import Edge, Node
from attractor_plugins.backends.threads import thread_key
from tests.llm.fake_server import Reply, wire_stream

from .support import events, read_json
from .test_api_agent import RESPONSES, answer, call, llm_option, run_in_process


def _more(attrs: str) -> str:
    return f", {attrs}" if attrs.strip() else ""


def pipeline(a: str, b: str, graph_attrs: str = 'default_fidelity="full"', c: str = "") -> str:
    """start -> a -> b [-> c] -> done; ``c`` non-empty (" " for no attributes) adds stage c."""
    third = f'  c [prompt="Stage C"{_more(c)}]\n  b -> c -> done' if c else "  b -> done"
    return f"""digraph threads {{
  goal="ship it" {graph_attrs}
  start [shape=Mdiamond]; done [shape=Msquare]
  node [llm_provider=fake, llm_model="m", codergen.mode="oneshot"]
  a [prompt="Stage A"{_more(a)}]
  b [prompt="Stage B"{_more(b)}]
  start -> a -> b
{third}
}}"""


def inputs(fake, index: int) -> list[dict[str, Any]]:
    return fake.requests[index].body["input"]


def fidelity(logs, node: str) -> dict[str, Any]:
    return read_json(logs / node / "api_request.json")["fidelity"]


async def test_two_stages_on_one_thread_share_the_conversation_with_its_tool_calls(
        tmp_path, fake):
    dot = pipeline('thread_id="T", codergen.mode="agent"', 'thread_id="T"')
    fake.script(call("c1", "write_file", {"file_path": "a.txt", "content": "A\n"}),
                answer("A is written"), answer("B done"), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    sent = json.dumps(inputs(fake, 2))
    # A's prompt, its tool call and result, its answer, then B's prompt: in that order.
    marks = ["Stage A", '"function_call"', "wrote 2 bytes to a.txt", "A is written", "Stage B"]
    assert all(mark in sent for mark in marks)
    assert [sent.index(mark) for mark in marks] == sorted(sent.index(mark) for mark in marks)
    assert len(inputs(fake, 2)) == 5  # user A, call, call output, assistant A, user B
    assert fidelity(logs, "a") == {"mode": "full", "requested": "full", "thread_key": "T",
                                   "history_messages": 0, "degraded": "",
                                   "compacted_messages": 0}
    assert fidelity(logs, "b")["thread_key"] == "T"
    assert fidelity(logs, "b")["history_messages"] == 4
    prompt = (logs / "b" / "prompt.md").read_text()
    assert prompt.startswith("## Run context (fidelity: full, thread: T)")
    assert "Completed stages" not in prompt and "A is written" not in prompt  # no summary


async def test_a_different_thread_starts_a_fresh_conversation(tmp_path, fake):
    fake.script(answer("A done"), answer("B done"), path=RESPONSES)
    record, logs, _ = await run_in_process(
        tmp_path, fake, pipeline('thread_id="T"', 'thread_id="U"'))
    assert record.status == "success", record.failure_reason
    assert len(inputs(fake, 1)) == 1
    assert fidelity(logs, "b") | {"history_messages": 0, "thread_key": "U"} == fidelity(logs, "b")
    prompt = (logs / "b" / "prompt.md").read_text()
    # A fresh full thread still gets the whole run record as its preamble.
    assert "## Run context (fidelity: full)" in prompt and "Thread: U (new conversation)" in prompt
    assert "A done" in prompt and "- a: success" in prompt


@pytest.mark.parametrize("mode", ["compact", "truncate", "summary:high"])
async def test_non_full_fidelity_never_sends_history(tmp_path, fake, mode):
    fake.script(answer("A done"), answer("B done"), answer("C done"), path=RESPONSES)
    dot = pipeline('thread_id="T"', 'thread_id="T"', f'default_fidelity="{mode}"',
                   c='thread_id="T"')
    record, logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    assert [len(inputs(fake, i)) for i in range(3)] == [1, 1, 1]
    for node in ("a", "b", "c"):
        assert fidelity(logs, node) == {"mode": mode, "requested": mode, "thread_key": "",
                                        "history_messages": 0, "degraded": "",
                                        "compacted_messages": 0}


async def test_without_thread_ids_each_full_stage_continues_the_previous_one(tmp_path, fake):
    fake.script(answer("A done"), answer("B done"), answer("C done"), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, pipeline("", "", c=" "))
    assert record.status == "success", record.failure_reason
    assert [len(inputs(fake, i)) for i in range(3)] == [1, 3, 5]
    assert "A done" in json.dumps(inputs(fake, 2)) and "B done" in json.dumps(inputs(fake, 2))
    assert [fidelity(logs, n)["thread_key"] for n in ("a", "b", "c")] == ["start", "a", "b"]


async def test_a_non_full_stage_between_keeps_the_thread_for_the_next_full_stage(tmp_path, fake):
    fake.script(answer("A done"), answer("B done"), answer("C done"), path=RESPONSES)
    dot = pipeline('thread_id="T"', 'fidelity="truncate"', c='thread_id="T"')
    record, _logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    assert [len(inputs(fake, i)) for i in range(3)] == [1, 1, 3]
    assert "B done" not in json.dumps(inputs(fake, 2))


async def test_a_thread_over_its_budget_is_compacted_to_its_newest_turns(tmp_path, fake):
    fake.script(answer("A " + "x" * 2000), answer("B " + "y" * 300), answer("C done"),
                path=RESPONSES)
    dot = pipeline('thread_id="T"', 'thread_id="T"', c='thread_id="T", fidelity.full_max_chars=1500')
    record, logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    sent = inputs(fake, 2)
    text = json.dumps(sent)
    assert "Earlier conversation compacted: 2 messages" in text and "Stage A" in text
    assert "x" * 2000 not in text  # A's long answer is gone...
    assert "y" * 300 in text and text.index("Stage B") < text.index("Stage C")  # ...B's stays
    assert fidelity(logs, "c")["compacted_messages"] == 2
    assert fidelity(logs, "b")["compacted_messages"] == 0


def test_thread_key_precedence_is_node_edge_graph_class_previous():
    node = Node("n", {"thread_id": "node-t", "class": "loop, other"})
    edge = Edge("p", "n", {"thread_id": "edge-t"})
    assert thread_key(node, edge, "graph-t", "p") == "node-t"
    bare = Node("n", {"class": "loop, other"})
    assert thread_key(bare, edge, "graph-t", "p") == "edge-t"
    assert thread_key(bare, None, "graph-t", "p") == "graph-t"
    assert thread_key(bare, None, "", "p") == "loop"
    assert thread_key(Node("n", {}), None, "", "p") == "p"
    assert thread_key(Node("n", {}), None, "", "") == "n"


def _cancel_at(scope: trio.CancelScope, node: str):
    def observe(event: Mapping[str, Any]) -> None:
        if event["event"] == "stage_attempt_start" and event["node_id"] == node:
            scope.cancel()
    return observe


async def test_after_a_resume_the_first_stage_of_a_lost_thread_gets_summary_high(tmp_path, fake):
    dot = pipeline("", "", 'default_fidelity="full" thread_id="T"', c=" ")
    (tmp_path / "p.dot").write_text(dot)
    (tmp_path / "work").mkdir()
    options = {"backend": "api", "llm": llm_option(fake)}
    fake.script(answer("A done"), path=RESPONSES)
    with trio.CancelScope() as scope:
        await run_pipeline(tmp_path / "p.dot", logs_root=tmp_path / "logs",
                           workdir=tmp_path / "work", run_id="resumed-run", options=options,
                           handle_signals=False, on_event=_cancel_at(scope, "b"))
    assert scope.cancelled_caught
    before = len(fake.requests)
    fake.script(answer("B done"), answer("C done"), path=RESPONSES)
    record = await resume_pipeline(tmp_path / "logs", options=options, handle_signals=False)
    assert record.status == "success", record.failure_reason
    logs = tmp_path / "logs"
    b_input, c_input = inputs(fake, len(fake.requests) - 2), inputs(fake, len(fake.requests) - 1)
    assert len(fake.requests) - before >= 2
    assert len(b_input) == 1  # A's conversation died with the first process
    assert fidelity(logs, "b")["mode"] == "summary:high"
    assert fidelity(logs, "b")["requested"] == "full" and fidelity(logs, "b")["degraded"]
    prompt = (logs / "b" / "prompt.md").read_text()
    assert prompt.startswith("## Run context (fidelity: summary:high)")
    assert "Fidelity degraded from full" in prompt and "A done" in prompt
    assert any("fidelity degraded" in w["message"] and w["node_id"] == "b"
               for w in events(logs, "warning"))
    # One hop only: C continues the thread again, from B's conversation.
    assert fidelity(logs, "c") | {"mode": "full", "history_messages": 2} == fidelity(logs, "c")
    assert len(c_input) == 3 and "B done" in json.dumps(c_input)


async def test_stages_of_one_subgraph_share_its_derived_class_thread(tmp_path, fake):
    fake.script(answer("A done"), answer("X done"), answer("B done"), path=RESPONSES)
    dot = """digraph threads {
  goal="ship it" default_fidelity="full"
  start [shape=Mdiamond]; done [shape=Msquare]
  node [llm_provider=fake, llm_model="m", codergen.mode="oneshot"]
  subgraph cluster_work { label="Work Loop"; a [prompt="Stage A"]; b [prompt="Stage B"] }
  x [prompt="Stage X", fidelity="truncate"]
  start -> a -> x -> b -> done
}"""
    record, logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    assert fidelity(logs, "b")["thread_key"] == "work-loop"
    assert len(inputs(fake, 2)) == 3 and "A done" in json.dumps(inputs(fake, 2))
    assert "X done" not in json.dumps(inputs(fake, 2))


def _anthropic_rule(request) -> Reply | None:
    """Anthropic's own check: tool_use/tool_result blocks need tools defined in the request."""
    blocks = [b for m in request.body.get("messages", []) for b in m.get("content", [])
              if isinstance(b, dict)]
    if "tools" not in request.body and {b.get("type") for b in blocks} & {"tool_use",
                                                                          "tool_result"}:
        return Reply(400, {"type": "error", "error": {
            "type": "invalid_request_error",
            "message": "Requests which include `tool_use` or `tool_result` blocks must "
                       "define tools."}})
    return None


async def test_a_oneshot_stage_continues_an_agent_thread_on_anthropic(tmp_path, fake):
    """The one-shot stage sends no tools, so the agent stage's tool calls and results reach
    it as text: Anthropic refuses tool blocks in a request without tools."""
    fake.check = _anthropic_rule
    fake.script(
        Reply(sse=wire_stream("anthropic", calls=[(
            "toolu_1", "write_file", [json.dumps({"file_path": "a.txt", "content": "A\n"})])])),
        Reply(sse=wire_stream("anthropic", text=["A is written"])),
        Reply(sse=wire_stream("anthropic", text=["B done"])), path="/v1/messages")
    dot = pipeline('thread_id="T", codergen.mode="agent"', 'thread_id="T"')
    llm = {"providers": {"fake": {"protocol": "anthropic", "api_key_env": "",
                                  "base_url": fake.url}}, "retry": {"max_retries": 0}}
    record, logs, work = await run_in_process(tmp_path, fake, dot,
                                              {"backend": "api", "llm": llm})
    assert record.status == "success", record.failure_reason
    assert (work / "a.txt").read_text() == "A\n"
    agent_second = fake.requests[1].body  # the agent's own rounds keep real tool blocks
    assert "tools" in agent_second
    assert "tool_result" in json.dumps(agent_second["messages"])
    oneshot = fake.requests[2].body
    assert "tools" not in oneshot
    sent = json.dumps(oneshot["messages"])
    assert '"tool_use"' not in sent and '"tool_result"' not in sent
    marks = ["Stage A", "[tool call toolu_1: write_file", "[result of tool call toolu_1]",
             "wrote 2 bytes to a.txt", "A is written", "Stage B"]
    assert [sent.index(mark) for mark in marks] == sorted(sent.index(mark) for mark in marks)
    assert fidelity(logs, "b")["history_messages"] == 4
