"""The ``cli`` backend's accounting: usage and cost parsed from each fake agent's stream."""

from __future__ import annotations

import os
import subprocess

import pytest

from attractor_plugins.backends.cli_streams import parse_stream

from .support import CLI, attractor_run, events, final, read_json
from .test_cli_backend import AGENT_ENV


def pipeline(provider: str, model: str, extra: str = "") -> str:
    return f"""digraph cli {{
  start [shape=Mdiamond]; done [shape=Msquare]
  work [prompt="Implement it", llm_provider={provider}, llm_model="{model}"{extra}]
  start -> work -> done
}}"""


@pytest.mark.parametrize(("provider", "model", "tokens", "cost", "source"), [
    # claude reports its own cost; its cache reads and writes count as input.
    ("anthropic", "claude-sonnet-4-5", (20_200, 800, 16_000, 3000), 0.0421, "agent"),
    # codex: 15k fresh x $1.75 + 5k cached x $0.175 + 1k out x $14 (gpt-5.2 in the catalog).
    ("openai", "gpt-5.2", (20_000, 1000, 5000, None), 0.041125, "catalog"),
    # gemini: 400k x $0.5 + 20k x $3 (gemini-3-flash-preview).
    ("gemini", "gemini-3-flash-preview", (400_000, 20_000, None, None), 0.26, "catalog"),
])
async def test_each_agents_stream_gives_the_stage_its_usage_and_cost(
        tmp_path, provider, model, tokens, cost, source):
    done, logs, _ = await attractor_run(tmp_path, pipeline(provider, model), "--backend", "cli",
                                        env={**AGENT_ENV, "FAKE_CLI_SCENARIO": "ok"})
    assert done.returncode == 0, done.stderr.decode()
    call = read_json(logs / "work" / "usage.json")["calls"][0]
    assert (call["input_tokens"], call["output_tokens"], call["cache_read_tokens"],
            call["cache_write_tokens"]) == tokens
    assert (call["provider"], call["model"]) == (provider, model)
    assert (call["cost_usd"], call["cost_source"]) == (cost, source)
    assert final(logs)["plugins"]["llm_usage"]["total"]["cost_usd"] == cost
    [usage] = events(logs, "llm_usage")
    assert (usage["node_id"], usage["calls"], usage["cost_usd"]) == ("work", 1, cost)


async def test_a_run_budget_stops_a_cli_run_and_status_shows_the_spend(tmp_path):
    dot = pipeline("anthropic", "claude-sonnet-4-5").replace("work -> done", (
        'work -> again -> done\n'
        '  again [prompt="Again", llm_provider=anthropic, llm_model="claude-sonnet-4-5"]'))
    done, logs, _ = await attractor_run(tmp_path, dot, "--backend", "cli", "--max-cost-usd",
                                        "0.05", env={**AGENT_ENV, "FAKE_CLI_SCENARIO": "ok"})
    assert done.returncode == 1, done.stderr.decode()
    record = final(logs)
    assert (record["exit_path"], record["failed_node_id"]) == ("budget_exceeded", "again")
    assert "spent $0.0842 of $0.05, after a call in node again" in record["failure_reason"]
    [warning] = events(logs, "llm_budget_warning")
    assert (warning["budget"], warning["spent"]) == ("max_cost_usd", 0.0421)
    status = subprocess.run([*CLI, "status", "--logs-root", str(logs)], capture_output=True,
                            text=True, check=True)
    assert ("spent $0.08: 40k in / 1.6k out tokens in 2 LLM calls; most in `work` (50%)"
            in status.stdout.splitlines())
    assert "Continue it with 'attractor resume" in status.stdout

    resumed = subprocess.run([*CLI, "resume", "--logs-root", str(logs), "--max-cost-usd", "1",
                              "--quiet"], capture_output=True, text=True, check=False,
                             env={**os.environ, **AGENT_ENV, "FAKE_CLI_SCENARIO": "ok"})
    assert resumed.returncode == 0, resumed.stderr
    total = final(logs)["plugins"]["llm_usage"]["total"]
    assert (total["calls"], total["cost_usd"]) == (3, 0.1263)  # `again` ran a second time


def test_a_stream_without_usage_leaves_the_usage_unknown():
    lines = ['{"type": "result", "subtype": "success", "is_error": false, "result": "hi"}']
    assert not parse_stream("claude", lines).usage_known
    codex = ['{"type": "turn.completed", "usage": {"input_tokens": 3, "output_tokens": 1}}']
    assert parse_stream("codex", codex).usage_known
