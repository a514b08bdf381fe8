"""LLM accounting of the api backend: every call priced from the catalog, totals per stage,
model and provider in usage.json, the llm_usage event, final.json and checkpoint.json.

The fake provider answers with scripted usage figures and a catalog file gives the test
model round prices, so every figure below is exact.
"""

from __future__ import annotations

import json
import os

import trio

from tests.llm.conftest import stream_path
from tests.llm.fake_server import STALL, Pause, Reply, wire_stream

from .support import CLI, attractor_run, events, read_json
from .test_api_agent import run_in_process

# $2 per million input tokens, $10 per million output, $0.50 per million cache reads.
CATALOG = """prices_as_of = "2026-01-01"
[[model]]
id = "m"
provider = "p"
context_window = 100000
input = 2.0
output = 10.0
cache_read = 0.5
"""

PIPELINE = """digraph acct {
  start [shape=Mdiamond]; done [shape=Msquare]
  plan [prompt="Plan", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  code [prompt="Code", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  start -> plan -> code -> done
}"""


def llm(fake, tmp_path, protocol="openai_chat", **extra):
    (tmp_path / "catalog.toml").write_text(CATALOG)
    base = f"{fake.url}/v1" if protocol.startswith("openai") else fake.url
    return {"providers": {"p": {"protocol": protocol, "api_key_env": "", "base_url": base}},
            "retry": {"max_retries": 0}, "catalog": str(tmp_path / "catalog.toml"), **extra}


def chat_usage(prompt: int, completion: int, cached: int = 0) -> dict:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return usage


async def test_each_stage_is_priced_and_the_run_adds_them_up(tmp_path, fake):
    path = stream_path("openai_chat")
    fake.script(Reply(sse=wire_stream("openai_chat", text=["a plan"],
                                      usage=chat_usage(100_000, 20_000, cached=40_000))),
                Reply(sse=wire_stream("openai_chat", text=["code"],
                                      usage=chat_usage(300_000, 50_000))), path=path)
    record, logs, _ = await run_in_process(tmp_path, fake, PIPELINE,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert record.status == "success", record.failure_reason
    # plan: 60k fresh x $2 + 40k cached x $0.5 + 20k out x $10 = 0.12 + 0.02 + 0.2 = $0.34
    plan = read_json(logs / "plan" / "usage.json")
    assert plan["totals"]["cost_usd"] == 0.34
    assert plan["calls"][0] == {
        "provider": "p", "model": "m", "input_tokens": 100_000, "output_tokens": 20_000,
        "reasoning_tokens": None, "cache_read_tokens": 40_000, "cache_write_tokens": None,
        "cost_usd": 0.34, "cost_source": "catalog", "estimated_tokens": 0, "error": ""}
    # code: 300k x $2 + 50k x $10 = 0.6 + 0.5 = $1.10
    assert read_json(logs / "code" / "usage.json")["totals"]["cost_usd"] == 1.1
    usage = read_json(logs / "final.json")["plugins"]["llm_usage"]
    assert usage["total"]["cost_usd"] == 1.44
    assert usage["total"]["calls"] == 2
    assert usage["total"]["input_tokens"] == 400_000
    assert usage["total"]["output_tokens"] == 70_000
    assert usage["by_stage"]["code"]["cost_usd"] == 1.1
    assert usage["by_model"]["p/m"]["calls"] == 2
    assert usage["by_provider"]["p"]["cost_usd"] == 1.44
    assert usage["status_line"] == ("spent $1.44: 400k in / 70k out tokens in 2 LLM calls; "
                                    "most in `code` (76%)")
    checkpoint = json.loads((logs / "checkpoint.json").read_text())
    assert checkpoint["plugins"]["llm_usage"]["total"]["cost_usd"] == 1.44
    sent = [(e["node_id"], e["calls"], e["cost_usd"], e["run_cost_usd"])
            for e in events(logs, "llm_usage")]
    assert sent == [("plan", 1, 0.34, 0.34), ("code", 1, 1.1, 1.44)]


async def test_usage_a_provider_does_not_report_is_unknown_not_zero(tmp_path, fake):
    fake.script(Reply(sse=wire_stream("openai_chat", text=["x" * 400])),
                Reply(sse=wire_stream("openai_chat", text=["y"], usage=chat_usage(10, 5))),
                path=stream_path("openai_chat"))
    record, logs, _ = await run_in_process(tmp_path, fake, PIPELINE,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert record.status == "success", record.failure_reason
    call = read_json(logs / "plan" / "usage.json")["calls"][0]
    assert call["input_tokens"] is None and call["output_tokens"] is None
    assert call["cost_usd"] is None
    assert call["estimated_tokens"] >= 100  # 400 characters received, and the prompt sent
    total = read_json(logs / "final.json")["plugins"]["llm_usage"]["total"]
    assert (total["calls"], total["unknown_calls"], total["unpriced_calls"]) == (2, 1, 1)
    assert (total["input_tokens"], total["output_tokens"]) == (10, 5)
    assert "1 call reported no usage" in read_json(logs / "final.json")["plugins"][
        "llm_usage"]["status_line"]


async def test_anthropic_cache_tokens_count_as_input_and_are_priced_apart(tmp_path, fake):
    catalog = CATALOG + "cache_write = 4.0\n"
    (tmp_path / "catalog.toml").write_text(catalog)
    usage = {"input_tokens": 10_000, "cache_read_input_tokens": 80_000,
             "cache_creation_input_tokens": 10_000, "output_tokens": 1_000}
    fake.script(Reply(sse=wire_stream("anthropic", text=["ok"], usage=usage)),
                Reply(sse=wire_stream("anthropic", text=["ok"], usage=usage)),
                path=stream_path("anthropic"))
    options = llm(fake, tmp_path, "anthropic")
    (tmp_path / "catalog.toml").write_text(catalog)
    record, logs, _ = await run_in_process(tmp_path, fake, PIPELINE,
                                           {"backend": "api", "llm": options})
    assert record.status == "success", record.failure_reason
    call = read_json(logs / "plan" / "usage.json")["calls"][0]
    assert call["input_tokens"] == 100_000
    # 10k fresh x $2 + 80k read x $0.5 + 10k written x $4 + 1k out x $10
    assert call["cost_usd"] == 0.11


# -- budgets ------------------------------------------------------------------------------
LOOP = """digraph loop {
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="A", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  b [prompt="B", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  c [prompt="C", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  start -> a -> b -> c -> done
}"""


async def run_with_run_table(tmp_path, fake, run_table):
    """LOOP with a config file whose [run] table is ``run_table``."""
    (tmp_path / "run.toml").write_text(f"[run]\n{run_table}\n")
    options = {"backend": "api", "llm": llm(fake, tmp_path),
               "config_file": str(tmp_path / "run.toml")}
    return await run_in_process(tmp_path, fake, LOOP, options)


def answers(fake, *usages):
    fake.script(*[Reply(sse=wire_stream("openai_chat", text=["ok"], usage=u)) for u in usages],
                path=stream_path("openai_chat"))


async def test_crossing_the_run_cost_budget_stops_the_run_and_resume_raises_it(tmp_path, fake):
    # Each call: 100k in x $2 + 20k out x $10 = $0.40; the budget of $0.70 holds one call.
    answers(fake, chat_usage(100_000, 20_000), chat_usage(100_000, 20_000))
    options = {"backend": "api", "llm": llm(fake, tmp_path), "max_cost_usd": "0.7"}
    record, logs, _ = await run_in_process(tmp_path, fake, LOOP, options)
    assert (record.status, record.exit_path) == ("fail", "budget_exceeded")
    assert record.failure_class == "budget_exhausted"
    assert record.failed_node_id == "b"
    assert record.failure_reason.startswith(
        "budget max_cost_usd exceeded (command line): spent $0.8000 of $0.7, after a call in "
        "node b")
    assert "--max-cost-usd N" in record.failure_reason
    assert record.completed_nodes == ("start", "a")
    assert record.can_resume
    warnings = events(logs, "llm_budget_warning")
    assert [(w["budget"], w["scope"], w["spent"]) for w in warnings] == [
        ("max_cost_usd", "run", 0.8)]
    assert read_json(logs / "b" / "usage.json")["run_totals"]["cost_usd"] == 0.8

    # Resumed with a raised budget, b runs again (its call counts) and so does c.
    answers(fake, chat_usage(100_000, 20_000), chat_usage(100_000, 20_000))
    from attractor_core.engine import resume_pipeline

    resumed = await resume_pipeline(logs, handle_signals=False,
                                    options={**options, "max_cost_usd": "2"})
    assert resumed.status == "success", resumed.failure_reason
    total = read_json(logs / "final.json")["plugins"]["llm_usage"]["total"]
    assert (total["calls"], total["cost_usd"]) == (4, 1.6)


async def test_a_node_budget_fails_the_stage_without_retry_and_routing_applies(tmp_path, fake):
    dot = """digraph nb {
      start [shape=Mdiamond]; done [shape=Msquare]; fallback [shape=Msquare]
      a [prompt="A", codergen.mode="oneshot", llm_provider=p, llm_model="m",
         max_cost_usd="0.3", max_retries=3]
      start -> a
      a -> done [condition="outcome=success"]
      a -> fallback [condition="outcome=fail"]
    }"""
    answers(fake, chat_usage(100_000, 20_000))
    record, logs, _ = await run_in_process(tmp_path, fake, dot,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert record.exit_node == "fallback", record.failure_reason
    status = read_json(logs / "a" / "status.json")
    assert status["failure_class"] == "budget_exhausted"
    assert "node budget max_cost_usd exhausted: spent $0.4000 of $0.3" in status[
        "failure_reason"]
    assert len(fake.requests) == 1  # not retried


async def test_the_call_budget_refuses_the_call_that_would_exceed_it(tmp_path, fake):
    answers(fake, chat_usage(10, 1), chat_usage(10, 1))
    record, logs, _ = await run_with_run_table(tmp_path, fake, "max_llm_calls = 2")
    assert record.exit_path == "budget_exceeded"
    assert record.failure_reason.startswith(
        "budget max_llm_calls exceeded (config file [run]): spent 2 of 2 LLM calls, before "
        "another call in node c")
    assert len(fake.requests) == 2
    assert [w["spent"] for w in events(logs, "llm_budget_warning")] == [2]


async def test_a_token_budget_estimates_calls_without_usage_and_says_so(tmp_path, fake):
    fake.script(*[Reply(sse=wire_stream("openai_chat", text=["z" * 4000])) for _ in range(2)],
                path=stream_path("openai_chat"))
    dot = LOOP.replace("digraph loop {", 'digraph loop {\n  graph [max_total_tokens="1500"]')
    record, logs, _ = await run_in_process(tmp_path, fake, dot,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert record.exit_path == "budget_exceeded"
    assert record.failed_node_id == "b"
    assert "(graph attribute)" in record.failure_reason
    assert "tokens estimated from the text of 2 call(s) whose provider reported no usage" \
        in record.failure_reason
    messages = [w["message"] for w in events(logs, "llm_budget_warning")]
    assert any("reported no usage; its tokens are estimated" in m for m in messages)


async def test_every_agent_round_is_a_call_and_a_node_budget_ends_the_loop(tmp_path, fake):
    # Each round: 50k in x $2 + 5k out x $10 = $0.15; the node's $0.25 holds one round, and
    # the second round crosses it before the model's third answer is asked for.
    usage = {"input_tokens": 50_000, "output_tokens": 5_000, "total_tokens": 55_000}
    tool = json.dumps({"file_path": "a.txt", "content": "a"})
    fake.script(*[Reply(sse=wire_stream("openai_responses", calls=[(f"c{i}", "write_file",
                                                                     [tool])], usage=usage))
                  for i in (1, 2)],
                Reply(sse=wire_stream("openai_responses", text=["done"], usage=usage)),
                path="/v1/responses")
    dot = """digraph ag {
      start [shape=Mdiamond]; done [shape=Msquare]
      code [prompt="Write a.txt", llm_provider=p, llm_model="m", max_cost_usd="0.25"]
      start -> code -> done
    }"""
    options = {"backend": "api", "llm": llm(fake, tmp_path, "openai_responses")}
    record, logs, _ = await run_in_process(tmp_path, fake, dot, options)
    assert record.status == "fail"
    assert record.failure_class == "budget_exhausted"
    assert "spent $0.3000 of $0.25" in record.failure_reason
    assert len(fake.requests) == 2
    assert read_json(logs / "code" / "agent_calls.json")["stop"] == "interrupted"
    usage_json = read_json(logs / "code" / "usage.json")
    assert [c["cost_usd"] for c in usage_json["calls"]] == [0.15, 0.15]
    [warning] = events(logs, "llm_budget_warning")
    assert (warning["scope"], warning["node_id"], warning["spent"]) == ("node", "code", 0.3)


async def test_a_run_budget_crossed_in_one_branch_aborts_the_call_in_flight_in_another(
        tmp_path, fake):
    # Branch a's answer ($0.40) comes 1.5 s late, while branch b's call is streaming (it never
    # ends on its own): crossing the budget must cancel b's call.
    fake.script(Reply(sse=[Pause(1.5), *wire_stream("openai_chat", text=["a"],
                                                    usage=chat_usage(100_000, 20_000))]),
                path=stream_path("openai_chat"))
    fake.script(Reply(sse=[*wire_stream("anthropic", text=["b"])[:2], STALL]),
                path=stream_path("anthropic"))
    options = llm(fake, tmp_path)
    options["providers"]["q"] = {"protocol": "anthropic", "api_key_env": "",
                                 "base_url": fake.url}
    options["timeouts"] = {"stream_read": 3600, "request": 3600}
    dot = two_branches('llm_provider=q, codergen.mode="oneshot"')
    record, logs, _ = await run_in_process(
        tmp_path, fake, dot, {"backend": "api", "llm": options, "max_cost_usd": "0.1"})
    assert (record.status, record.exit_path) == ("fail", "budget_exceeded")
    assert "after a call in node a" in record.failure_reason
    assert sorted(r.path for r in fake.requests) == sorted(
        [stream_path("openai_chat"), stream_path("anthropic")])
    b_usage = next(logs.glob("parallel/par/pass-1/*-b/b/usage.json"))
    [call] = read_json(b_usage)["calls"]
    assert call["error"].startswith("Cancelled") and call["input_tokens"] is None


async def test_a_stage_between_calls_sees_what_another_stage_spent_meanwhile(tmp_path, fake):
    # Branch b's agent spends $0.10, then runs a 2 s tool; meanwhile branch a spends $0.40,
    # which reaches the run's $0.50. b's next call must not start: its check before the call
    # sees the run's new total although b spent nothing since its last check.
    fake.script(Reply(sse=[Pause(0.5), *wire_stream("openai_chat", text=["a"],
                                                    usage=chat_usage(200_000, 0))]),
                path=stream_path("openai_chat"))
    shell = json.dumps({"command": "sleep 2", "timeout_ms": 30_000})
    usage = {"input_tokens": 50_000, "output_tokens": 0, "total_tokens": 50_000}
    fake.script(Reply(sse=wire_stream("openai_responses", calls=[("c1", "shell", [shell])],
                                      usage=usage)),
                Reply(sse=wire_stream("openai_responses", text=["done"], usage=usage)),
                path="/v1/responses")
    options = llm(fake, tmp_path)
    options["providers"]["r"] = {"protocol": "openai_responses", "api_key_env": "",
                                 "base_url": f"{fake.url}/v1"}
    dot = two_branches("llm_provider=r")
    record, logs, _ = await run_in_process(
        tmp_path, fake, dot, {"backend": "api", "llm": options, "max_cost_usd": "0.5"})
    assert (record.status, record.exit_path) == ("fail", "budget_exceeded")
    assert "spent $0.5000 of $0.5, before another call in node b" in record.failure_reason
    assert [r.path for r in fake.requests].count("/v1/responses") == 1
    assert usage_of_run(logs)["total"]["calls"] == 2


def two_branches(b_settings: str) -> str:
    """Branch a: one call to provider p; branch b: calls with ``b_settings``."""
    return f"""digraph par {{
      start [shape=Mdiamond]; done [shape=Msquare]
      par [shape=component]; join [shape=tripleoctagon]
      a [prompt="A", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
      b [prompt="B", llm_model="m", {b_settings}]
      start -> par; par -> a -> join; par -> b -> join; join -> done
    }}"""


def usage_of_run(logs):
    return read_json(logs / "final.json")["plugins"]["llm_usage"]


async def test_graph_max_tokens_is_the_run_budget_never_a_nodes_output_limit(tmp_path, fake):
    # Each call: 100k in + 20k out; the graph's 150k tokens hold one call. Node b's own
    # max_tokens is its output limit; a and c send none.
    answers(fake, chat_usage(100_000, 20_000), chat_usage(100_000, 20_000))
    dot = LOOP.replace("digraph loop {", 'digraph loop {\n  graph [max_tokens="150000"]') \
        .replace('b [prompt="B",', 'b [prompt="B", max_tokens=64,')
    record, logs, _ = await run_in_process(tmp_path, fake, dot,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert (record.exit_path, record.failed_node_id) == ("budget_exceeded", "b")
    assert record.failure_reason.startswith(
        "budget max_tokens exceeded (graph attribute): spent 240000 of 150000 tokens, after a "
        "call in node b")
    assert "--max-tokens N" in record.failure_reason
    first, second = (r.body for r in fake.requests)
    assert "max_tokens" not in first and second["max_tokens"] == 64
    [warning] = events(logs, "llm_budget_warning")
    assert (warning["budget"], warning["scope"]) == ("max_tokens", "run")


async def test_max_total_tokens_is_another_name_of_the_token_budget(tmp_path, fake):
    answers(fake, chat_usage(100_000, 20_000), chat_usage(100_000, 20_000))
    record, _, _ = await run_with_run_table(tmp_path, fake, "max_total_tokens = 150000")
    assert record.failure_reason.startswith(
        "budget max_tokens exceeded (config file [run]): spent 240000 of 150000 tokens")


async def test_the_max_tokens_flags_set_the_run_budget_on_run_and_resume(tmp_path, fake):
    (tmp_path / "run.toml").write_text(
        f'[llm]\nretry = {{ max_retries = 0 }}\ncatalog = "{tmp_path / "catalog.toml"}"\n'
        f'[llm.providers.p]\nprotocol = "openai_chat"\napi_key_env = ""\n'
        f'base_url = "{fake.url}/v1"\n')
    llm(fake, tmp_path)  # writes the catalog
    answers(fake, *[chat_usage(100_000, 20_000)] * 2)
    done, logs, _ = await attractor_run(tmp_path, LOOP, "--config", str(tmp_path / "run.toml"),
                                        "--backend", "api", "--max-total-tokens", "150000")
    assert done.returncode == 1, done.stderr.decode()
    assert read_json(logs / "final.json")["failure_reason"].startswith(
        "budget max_tokens exceeded (command line): spent 240000 of 150000 tokens")
    assert read_json(logs / "manifest.json")["options"]["max_tokens"] == "150000"

    answers(fake, *[chat_usage(100_000, 20_000)] * 2)
    resumed = await trio.run_process(
        [*CLI, "resume", "--logs-root", str(logs), "--quiet", "--max-tokens", "1000000"],
        capture_stdout=True, capture_stderr=True, check=False, env=dict(os.environ))
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert read_json(logs / "final.json")["plugins"]["llm_usage"]["total"]["calls"] == 4
    assert read_json(logs / "manifest.json")["options"]["max_tokens"] == "1000000"
