"""``attractor run --force-model PROVIDER=MODEL``: recorded in the manifest, kept by resume."""

from __future__ import annotations

import os

import trio

from tests.llm.fake_server import STALL, Reply, wire_stream

from .support import CLI, FAKE_CLI, attractor_run, read_json
from .test_api_agent import RESPONSES, answer

PIPELINE = """digraph forced {
  stall_timeout="1s" stall_check_interval="100ms" heartbeat_interval="100ms"
  model_stylesheet="#b { llm_model: from-stylesheet; }"
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="first", llm_provider=fake, llm_model="from-node", codergen.mode="oneshot"]
  b [prompt="second", llm_provider=fake, codergen.mode="oneshot"]
  start -> a -> b -> done
}"""


def stall_the_second_call(tmp_path, fake):
    """A config for the fake provider, which answers a and stalls b (the watchdog stops it)."""
    (tmp_path / "run.toml").write_text(
        f'[llm]\nretry = {{ max_retries = 0 }}\n[llm.providers.fake]\nprotocol = '
        f'"openai_responses"\napi_key_env = ""\nbase_url = "{fake.url}/v1"\nbackend = "api"\n')
    stalled = wire_stream("openai_responses", text=["never ", "ends"])[:2]
    fake.script(answer("A done"), Reply(sse=[*stalled, STALL]), path=RESPONSES)


async def test_forced_model_replaces_every_node_model_and_survives_resume(tmp_path, fake):
    stall_the_second_call(tmp_path, fake)
    done, logs, _ = await attractor_run(
        tmp_path, PIPELINE, "--config", str(tmp_path / "run.toml"),
        "--force-model", "other=ignored", "--force-model", "fake=forced-1",
        "--force-model", "fake=forced-2")
    assert read_json(logs / "final.json")["exit_path"] == "watchdog_stall", done.stderr.decode()
    assert read_json(logs / "manifest.json")["options"]["force_model"] == \
        "other=ignored,fake=forced-2"
    assert read_json(logs / "a" / "provider_used.json")["reason"] == "force_model"

    fake.script(answer("B done"), path=RESPONSES)
    # The resume lifts the 1 s stall timeout that stopped b: a loaded host may be slower.
    resumed = await trio.run_process([*CLI, "resume", "--logs-root", str(logs), "--quiet",
                                      "--stall-timeout", "60s"],
                                     capture_stdout=True, capture_stderr=True, check=False,
                                     env=dict(os.environ))
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert [r.body["model"] for r in fake.requests] == ["forced-2"] * 3
    assert read_json(logs / "b" / "api_request.json")["model"] == "forced-2"


async def test_resume_force_model_replaces_the_recorded_one_and_is_recorded(tmp_path, fake):
    stall_the_second_call(tmp_path, fake)
    await attractor_run(tmp_path, PIPELINE, "--config", str(tmp_path / "run.toml"),
                        "--force-model", "fake=forced-1")
    logs = tmp_path / "logs"
    assert read_json(logs / "final.json")["exit_path"] == "watchdog_stall"

    fake.script(answer("B done"), path=RESPONSES)
    resumed = await trio.run_process(
        [*CLI, "resume", "--logs-root", str(logs), "--quiet", "--force-model", "fake=forced-3",
         "--stall-timeout", "60s"],
        capture_stdout=True, capture_stderr=True, check=False, env=dict(os.environ))
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert [r.body["model"] for r in fake.requests] == ["forced-1", "forced-1", "forced-3"]
    assert read_json(logs / "b" / "provider_used.json")["reason"] == "force_model"
    assert read_json(logs / "manifest.json")["options"]["force_model"] == "fake=forced-3"


async def test_a_malformed_force_model_is_a_usage_error(tmp_path):
    done, _, _ = await attractor_run(tmp_path, PIPELINE, "--force-model", "fake")
    assert done.returncode == 2
    assert "--force-model 'fake': expected PROVIDER=MODEL" in done.stderr.decode()


async def test_the_cli_backend_gives_the_forced_model_to_the_providers_agent(tmp_path):
    dot = """digraph cli {
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="one", llm_provider=anthropic, llm_model="claude-opus-4.6"]
  b [prompt="two", llm_provider=openai, llm_model="gpt-5.2"]
  start -> a -> b -> done
}"""
    env = {"ATTRACTOR_CLAUDE_PATH": str(FAKE_CLI / "claude"),
           "ATTRACTOR_CODEX_PATH": str(FAKE_CLI / "codex"), "FAKE_CLI_SCENARIO": "ok"}
    done, logs, _ = await attractor_run(tmp_path, dot, "--backend", "cli",
                                        "--force-model", "anthropic=claude-haiku-4.5", env=env)
    assert done.returncode == 0, done.stderr.decode()
    claude = read_json(logs / "a" / "cli_invocation.json")["argv"]
    codex = read_json(logs / "b" / "cli_invocation.json")["argv"]
    assert claude[claude.index("--model") + 1] == "claude-haiku-4-5"
    assert codex[codex.index("-m") + 1] == "gpt-5.2"  # not forced: the node's own model
