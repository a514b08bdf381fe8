"""The api backend under the run's failover policy, and LLM errors as classified stage failures."""

from __future__ import annotations

import pytest

from attractor_core.errors import UsageError
from tests.llm.fake_server import Reply

from .support import events, read_json
from .test_api_agent import answer, run_in_process

SERVER_ERROR = Reply(500, {"error": {"message": "upstream exploded"}})


def two_providers(fake, policy: str, **failover) -> dict:
    def provider(prefix: str, chain=None) -> dict:
        table = {"protocol": "openai_responses", "api_key_env": "",
                 "base_url": f"{fake.url}/{prefix}/v1", "model": f"{prefix}-model"}
        if chain is not None:
            table["failover"] = chain
        return table
    return {"providers": {"a": provider("a", ["b"]), "b": provider("b")},
            "failover": {"policy": policy, **failover}, "retry": {"max_retries": 0}}


PIPELINE = """digraph fo {
  start [shape=Mdiamond]; done [shape=Msquare]
  ask [prompt="Say hi", llm_provider=a, llm_model="a-model", codergen.mode="oneshot",
       max_retries=0]
  start -> ask -> done
}"""


async def test_ordered_policy_fails_over_once_to_the_next_provider(tmp_path, fake):
    fake.script(SERVER_ERROR, path="/a/v1/responses")
    fake.script(answer("hi from b"), path="/b/v1/responses")
    record, logs, _ = await run_in_process(
        tmp_path, fake, PIPELINE, {"backend": "api", "llm": two_providers(fake, "ordered")})
    assert record.status == "success", record.failure_reason
    assert fake.paths() == ["/a/v1/responses", "/b/v1/responses"]
    assert (logs / "ask" / "response.md").read_text() == "hi from b"
    used = read_json(logs / "ask" / "provider_used.json")
    assert (used["provider"], used["model"], used["reason"]) == ("b", "b-model", "failover:ordered")
    [switch] = events(logs, "llm_failover")
    assert (switch["from_provider"], switch["to_provider"], switch["error_class"]) == (
        "a", "b", "ServerError")


async def test_without_a_policy_there_is_no_failover_and_the_error_is_transient(tmp_path, fake):
    fake.script(SERVER_ERROR, path="/a/v1/responses")
    record, logs, _ = await run_in_process(
        tmp_path, fake, PIPELINE, {"backend": "api", "llm": two_providers(fake, "none")})
    assert record.status == "fail"
    assert fake.paths() == ["/a/v1/responses"]
    status = read_json(logs / "ask" / "status.json")
    assert status["failure_class"] == "transient_infra"
    assert status["failure_signature"] == "api_transient_infra|a|server_error"
    assert events(logs, "llm_failover") == []


async def test_pinned_policy_refuses_the_failover_loudly(tmp_path, fake):
    fake.script(SERVER_ERROR, path="/a/v1/responses")
    record, logs, _ = await run_in_process(
        tmp_path, fake, PIPELINE,
        {"backend": "api", "llm": two_providers(fake, "pinned", pinned="a/a-model")})
    assert record.status == "fail"
    assert "failover forbidden by run policy: pinned provider/model a/a-model" in (
        record.failure_reason)
    assert read_json(logs / "ask" / "status.json")["failure_class"] == "deterministic"
    assert fake.paths() == ["/a/v1/responses"]


async def test_authentication_errors_never_fail_over(tmp_path, fake):
    fake.script(Reply(401, {"error": {"message": "bad key"}}), path="/a/v1/responses")
    record, logs, _ = await run_in_process(
        tmp_path, fake, PIPELINE, {"backend": "api", "llm": two_providers(fake, "ordered")})
    assert record.status == "fail"
    assert fake.paths() == ["/a/v1/responses"]
    assert read_json(logs / "ask" / "status.json")["failure_class"] == "deterministic"


async def test_unknown_policy_is_refused_before_the_run(tmp_path, fake):
    with pytest.raises(UsageError, match=r"policy = 'roulette': no plugin provides it"):
        await run_in_process(
            tmp_path, fake, PIPELINE, {"backend": "api", "llm": two_providers(fake, "roulette")})
    assert fake.requests == []
    assert not (tmp_path / "logs").exists()
