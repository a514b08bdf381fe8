"""Call controls of the ``api`` backend against the fake provider: output limits, truncation,
partial output, client retries, the zero-tool-call warning and clearer errors."""

from __future__ import annotations

import pytest
import trio

from tests.llm.fake_server import STALL, Reply, sse, wire_stream

from .support import CLI, attractor_run, events, read_json
from .test_api_agent import RESPONSES, agent_pipeline, answer, call, run_in_process


def llm(fake, protocol: str = "openai_responses", **extra) -> dict:
    return {"providers": {"fake": {"protocol": protocol, "api_key_env": "",
                                   "base_url": f"{fake.url}/v1"}},
            "retry": {"max_retries": 0}, **extra}


async def refused_by_validate(tmp_path, dot: str) -> str:
    """``attractor validate`` output for ``dot``, which must exit 1."""
    (tmp_path / "p.dot").write_text(dot)
    done = await trio.run_process([*CLI, "validate", str(tmp_path / "p.dot")],
                                  capture_stdout=True, capture_stderr=True, check=False)
    out = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 1, out
    return out


def oneshot(extra: str = "", graph: str = "") -> str:
    dot = agent_pipeline(', codergen.mode="oneshot"' + extra)
    return dot.replace('goal="greet the world"', f'goal="greet the world" {graph}')


async def test_node_graph_and_config_controls_reach_the_request(tmp_path, fake):
    fake.script(answer("Hello."), path=RESPONSES)
    dot = oneshot(', max_tokens=64, provider_options="{\\"fake\\": {\\"store\\": false}}"',
                  graph='temperature="0.5" provider_options="{\\"fake\\": {\\"user\\": \\"g\\"}}"')
    options = {"backend": "api", "llm": llm(
        fake, max_tokens=9999, temperature=1.5,
        provider_options={"fake": {"user": "config", "top_logprobs": 2}})}
    record, logs, _ = await run_in_process(tmp_path, fake, dot, options=options)
    assert record.status == "success", record.failure_reason
    body = fake.requests[0].body
    assert (body["max_output_tokens"], body["temperature"]) == (64, 0.5)
    assert (body["store"], body["user"], body["top_logprobs"]) == (False, "g", 2)
    sent = read_json(logs / "code" / "api_request.json")
    assert (sent["max_tokens"], sent["temperature"]) == (64, 0.5)
    assert read_json(logs / "code" / "api_response.json")["complete"] is True
    status = read_json(logs / "code" / "status.json")
    assert not status.get("details", {}).get("truncated")
    assert not [w for w in events(logs, "warning") if "output limit" in w["message"]]


async def test_config_controls_apply_when_the_node_and_graph_set_none(tmp_path, fake):
    fake.script(answer("Hello."), path=RESPONSES)
    options = {"backend": "api", "llm": llm(fake, max_tokens=300, temperature=0)}
    record, _, _ = await run_in_process(tmp_path, fake, oneshot(), options=options)
    assert record.status == "success", record.failure_reason
    body = fake.requests[0].body
    assert (body["max_output_tokens"], body["temperature"]) == (300, 0)


def cut_stream(protocol: str, text: list[str]) -> tuple[list, str]:
    """A streamed answer each provider ends at its output limit, and its native reason."""
    if protocol == "openai_responses":
        chunks = wire_stream(protocol, text=text)
        chunks[-1] = sse({"type": "response.incomplete", "response": {
            "id": "resp_1", "model": "gpt-test", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"}, "output": []}},
            "response.incomplete")
        return chunks, "max_output_tokens"
    native = {"openai_chat": ('"finish_reason": "stop"', '"finish_reason": "length"', "length"),
              "anthropic": ('"stop_reason": "end_turn"', '"stop_reason": "max_tokens"',
                            "max_tokens"),
              "gemini": ('"finishReason": "STOP"', '"finishReason": "MAX_TOKENS"', "MAX_TOKENS")}
    done, cut, reason = native[protocol]
    return [c.replace(done, cut) for c in wire_stream(protocol, text=text)], reason


@pytest.mark.parametrize("protocol", ["openai_responses", "openai_chat", "anthropic", "gemini"])
async def test_an_answer_cut_at_the_output_limit_warns_and_is_flagged_truncated(tmp_path, fake,
                                                                                protocol):
    chunks, reason = cut_stream(protocol, ["One short", " sentence that goes on"])
    fake.script(Reply(sse=chunks))
    base = fake.url if protocol in ("anthropic", "gemini") else f"{fake.url}/v1"
    options = {"backend": "api", "llm": {**llm(fake, protocol), "providers": {"fake": {
        "protocol": protocol, "api_key_env": "", "base_url": base}}}}
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot(", max_tokens=5"),
                                           options=options)
    assert record.status == "success", record.failure_reason
    status = read_json(logs / "code" / "status.json")
    assert status["outcome"] == "success" and status["details"]["truncated"] is True
    assert (logs / "code" / "response.md").read_text() == "One short sentence that goes on"
    warnings = [w for w in events(logs, "warning") if w["node_id"] == "code"]
    assert len(warnings) == 1
    assert f"output limit (max_tokens 5, finish reason {reason})" in warnings[0]["message"]


async def test_a_broken_stream_leaves_the_partial_answer_marked_incomplete(tmp_path, fake):
    chunks = wire_stream("openai_responses", text=["the beginning ", "of an answer"])
    fake.script(Reply(sse=chunks[:-1]), path=RESPONSES)  # ends before response.completed
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot())
    assert record.status == "fail"
    assert (logs / "code" / "response.md").read_text() == "the beginning of an answer"
    response = read_json(logs / "code" / "api_response.json")
    assert (response["complete"], response["incomplete_reason"]) == (False, "stream_broken")
    assert response["text"] == "the beginning of an answer"
    assert response["error"].startswith("StreamError")


async def test_an_agent_round_that_breaks_leaves_its_partial_answer_and_the_calls(tmp_path,
                                                                                 fake):
    broken = wire_stream("openai_responses", text=["I wrote a.txt ", "and then"])[:-1]
    fake.script(call("c1", "write_file", {"file_path": "a.txt", "content": "a"}),
                Reply(sse=broken), path=RESPONSES)
    record, logs, work = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "fail" and (work / "a.txt").read_text() == "a"
    stage = logs / "code"
    assert (stage / "response.md").read_text() == "I wrote a.txt and then"
    response = read_json(stage / "api_response.json")
    assert (response["complete"], response["incomplete_reason"]) == (False, "stream_broken")
    calls = read_json(stage / "agent_calls.json")
    assert calls["stop"] == "interrupted" and [c["tool"] for c in calls["calls"]] == ["write_file"]
    sent = read_json(stage / "api_request.json")
    assert [m["role"] for m in sent["messages"]][-2:] == ["assistant", "tool"]


async def test_a_stream_timeout_leaves_the_partial_answer(tmp_path, fake):
    chunks = wire_stream("openai_responses", text=["half ", "an answer"])
    fake.script(Reply(sse=[*chunks[:3], STALL]), path=RESPONSES)
    options = {"backend": "api", "llm": llm(fake, timeouts={"stream_read": 0.3})}
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot(), options=options)
    assert record.status == "fail"
    response = read_json(logs / "code" / "api_response.json")
    assert (response["complete"], response["incomplete_reason"]) == (False, "timeout")
    assert (logs / "code" / "response.md").read_text() == "half "


async def test_a_cancelled_stage_leaves_the_partial_answer(tmp_path, fake):
    chunks = wire_stream("openai_responses", text=["started ", "never finished"])
    fake.script(Reply(sse=[*chunks[:3], STALL]), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot(', timeout="1s"'))
    assert record.status == "fail"
    response = read_json(logs / "code" / "api_response.json")
    assert (response["complete"], response["incomplete_reason"]) == (False, "canceled")
    assert (logs / "code" / "response.md").read_text() == "started "


async def test_each_client_retry_is_an_llm_retry_event(tmp_path, fake):
    fake.script(Reply(503, {"error": {"message": "overloaded, try later"}}),
                Reply(429, {"error": {"message": "slow down"}}, headers={"retry-after": "0"}),
                answer("Hello."), path=RESPONSES)
    options = {"backend": "api", "llm": llm(
        fake, retry={"max_retries": 2, "base_delay": 0.02, "jitter": False})}
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot(), options=options)
    assert record.status == "success", record.failure_reason
    retries = events(logs, "llm_retry")
    assert [(r["attempt"], r["delay_ms"], r["error_type"]) for r in retries] == [
        (1, 20, "ServerError"), (2, 0, "RateLimitError")]
    assert retries[0]["node_id"] == "code" and retries[0]["provider"] == "fake"
    assert retries[0]["model"] == "gpt-test" and "overloaded" in retries[0]["error"]


async def test_an_agent_that_calls_no_tool_gets_a_warning(tmp_path, fake):
    fake.script(answer("I would create hello.txt like this: ..."), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    warnings = [w for w in events(logs, "warning") if "without calling any" in w["message"]]
    assert len(warnings) == 1 and warnings[0]["node_id"] == "code"


async def test_an_agent_that_used_its_tools_gets_no_such_warning(tmp_path, fake):
    fake.script(call("c1", "write_file", {"file_path": "a.txt", "content": "a"}),
                answer("Done."), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    assert not [w for w in events(logs, "warning") if "without calling any" in w["message"]]


async def test_a_404_names_the_url_and_suggests_chat_completions(tmp_path, fake):
    fake.script(Reply(404, {"detail": "Not Found"}), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, oneshot())
    assert record.status == "fail"
    assert f"POST {fake.url}/v1/responses answered 404" in record.failure_reason
    assert 'protocol = "openai_chat" in [llm.providers.fake]' in record.failure_reason
    assert read_json(logs / "code" / "status.json")["failure_class"] == "deterministic"


async def test_a_custom_provider_without_api_key_env_is_told_how_to_declare_keyless(tmp_path,
                                                                                     fake):
    (tmp_path / "run.toml").write_text(
        f'[llm.providers.fake]\nprotocol = "openai_chat"\nbase_url = "{fake.url}/v1"\n')
    done, _, _ = await attractor_run(tmp_path, oneshot(), "--backend", "api", "--config",
                                     str(tmp_path / "run.toml"))
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "needs FAKE_API_KEY" in err
    assert 'api_key_env = "" in [llm.providers.fake]' in err


async def test_validate_refuses_control_values_the_run_could_not_use(tmp_path):
    out = await refused_by_validate(
        tmp_path, oneshot(', max_tokens=lots, temperature=7, provider_options="{oops"'))
    assert "node code: max_tokens='lots': use a whole number of at least 1" in out
    assert "p.dot:4" in out


async def test_the_model_stylesheet_sets_call_controls(tmp_path, fake):
    fake.script(answer("Hello."), path=RESPONSES)
    sheet = ('model_stylesheet="* { max_tokens: 900; temperature: 0.1; } '
             '#code { max_tokens: 120; }"')
    record, _, _ = await run_in_process(tmp_path, fake, oneshot(graph=sheet))
    assert record.status == "success", record.failure_reason
    body = fake.requests[0].body
    assert (body["max_output_tokens"], body["temperature"]) == (120, 0.1)


async def test_a_stylesheet_property_nobody_declares_is_refused(tmp_path):
    out = await refused_by_validate(tmp_path,
                                    oneshot(graph='model_stylesheet="* { max_token: 900; }"'))
    assert "unknown property 'max_token'" in out
    assert ("recognized properties are llm_model, llm_provider, reasoning_effort, max_tokens, "
            "provider_options, temperature") in out


async def test_validate_refuses_a_graph_default_the_nodes_could_not_use(tmp_path):
    out = await refused_by_validate(tmp_path, oneshot(graph='temperature="hot"'))
    assert "node code: graph temperature='hot': use a number from 0 to 2" in out
