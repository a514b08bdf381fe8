"""The ``cli`` backend driving fake claude, codex and gemini CLIs through ``attractor run``."""

from __future__ import annotations

import pytest

from tests.handlers.helpers import survivors

from .support import FAKE_CLI, attractor_run, events, final, read_json

AGENT_ENV = {f"ATTRACTOR_{name.upper()}_PATH": str(FAKE_CLI / name)
             for name in ("claude", "codex", "gemini")}


def pipeline(provider: str, extra: str = "") -> str:
    return f"""digraph cli {{
  goal="ship the feature"
  start [shape=Mdiamond]; done [shape=Msquare]
  work [prompt="Implement $goal", llm_provider={provider}, llm_model="{provider}/model-4.5"{extra}]
  start -> work -> done
}}"""


def decision_for(logs, node_id):
    return [e for e in events(logs, "status_ingestion_decision") if e["node_id"] == node_id][-1]


async def run_cli(tmp_path, provider, scenario, extra=""):
    return await attractor_run(tmp_path, pipeline(provider, extra), "--backend", "cli",
                               env={**AGENT_ENV, "FAKE_CLI_SCENARIO": scenario})


@pytest.mark.parametrize(("provider", "answer"), [
    ("anthropic", "claude final answer"), ("openai", "codex final answer"),
    ("gemini", "gemini final answer")])
async def test_status_written_via_status_path_decides_and_stream_gives_response(
        tmp_path, provider, answer):
    done, logs, work = await run_cli(tmp_path, provider, "ok")
    assert done.returncode == 0, done.stderr.decode()
    stage = logs / "work"
    assert (stage / "response.md").read_text() == answer
    assert read_json(stage / "status.json")["outcome"] == "success"
    decision = decision_for(logs, "work")
    assert decision["chosen_source"] == "canonical" and decision["ownership_result"] == "match"
    # The prompt went through stdin: the CLI saw the task, the status contract and the preamble.
    seen = (work / "seen_prompt.txt").read_text()
    assert "Implement ship the feature" in seen
    assert "$ATTRACTOR_STATUS_PATH" in seen and '"node_id": "work"' in seen
    assert "## Run context (fidelity: compact)" in seen
    assert (stage / "prompt.md").read_text() == seen
    invocation = read_json(stage / "cli_invocation.json")
    assert invocation["prompt_mode"] == "stdin" and "Implement" not in " ".join(invocation["argv"])
    assert invocation["cwd"] == str(work) and invocation["exit_code"] == 0
    assert "ATTRACTOR_STATUS_PATH" in invocation["env_keys"]
    assert (stage / "stdout.log").read_text().count("\n") >= 4
    selected = events(logs, "provider_selected")
    assert [(e["backend"], e["provider"]) for e in selected] == [("cli", provider)]


async def test_claude_model_ids_lose_the_prefix_and_use_dashes(tmp_path):
    _done, _logs, work = await run_cli(tmp_path, "anthropic", "ok")
    argv = read_json(work / "seen_argv.json")
    assert argv[argv.index("--model") + 1] == "model-4-5"
    assert "--verbose" in argv


async def test_codex_gets_sandbox_and_workdir_flags(tmp_path):
    _done, _logs, work = await run_cli(tmp_path, "openai", "ok")
    argv = read_json(work / "seen_argv.json")
    assert argv[:2] == ["exec", "--json"]
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"
    assert argv[argv.index("-C") + 1] == str(work)
    assert argv[argv.index("-m") + 1] == "model-4.5"


async def test_status_file_in_workdir_is_ingested_as_fallback(tmp_path):
    done, logs, work = await run_cli(tmp_path, "openai", "fallback")
    assert done.returncode == 0, done.stderr.decode()
    decision = decision_for(logs, "work")
    assert decision["chosen_source"] == "worktree" and decision["copied_to_canonical"]
    assert not (work / "status.json").exists()


async def test_clean_exit_without_status_file_fails_unless_auto_status(tmp_path):
    done, logs, _ = await run_cli(tmp_path, "gemini", "no_status")
    assert done.returncode == 1
    assert "without writing a status file" in final(logs)["failure_reason"]
    assert (logs / "work" / "response.md").read_text() == "gemini final answer"


async def test_clean_exit_with_auto_status_succeeds(tmp_path):
    done, _logs, _ = await run_cli(tmp_path, "gemini", "no_status", ", auto_status=true")
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize(("provider", "message"), [
    ("anthropic", "tool crashed"), ("openai", "model refused the request"),
    ("gemini", "quota hit")])
async def test_agent_error_in_stream_fails_with_its_message(tmp_path, provider, message):
    done, logs, _ = await run_cli(tmp_path, provider, "error", ", max_retries=0")
    assert done.returncode == 1
    assert message in final(logs)["failure_reason"]


async def test_a_reported_stream_disconnect_is_transient(tmp_path):
    done, logs, _ = await run_cli(tmp_path, "openai", "disconnect", ", max_retries=0")
    assert done.returncode == 1
    record = final(logs)
    assert "stream disconnected before completion" in record["failure_reason"]
    assert record["failure_class"] == "transient_infra"
    assert record["failure_signature"] == "provider_stream_disconnect|openai|stream_closed"


async def test_idle_cli_is_killed_with_its_group_by_the_idle_timeout(tmp_path):
    done, logs, work = await run_cli(tmp_path, "anthropic", "idle",
                                     ', cli.idle_timeout="1s", max_retries=0')
    assert done.returncode == 1
    record = final(logs)
    assert "idle timeout after 1s" in record["failure_reason"]
    invocation = read_json(logs / "work" / "cli_invocation.json")
    assert invocation["trigger"] == "idle_timeout" and invocation["exit_code"] is None
    pids = [int(p) for p in (work / "pids").read_text().split()]
    assert await survivors(pids) == []
    attempt_end = [e for e in events(logs, "stage_attempt_end") if e["node_id"] == "work"][-1]
    assert attempt_end["failure_class"] == "transient_infra"


async def test_total_timeout_stops_a_cli_that_keeps_talking(tmp_path):
    done, logs, _ = await run_cli(tmp_path, "gemini", "slow",
                                  ', cli.total_timeout="1s", max_retries=0')
    assert done.returncode == 1
    record = final(logs)
    assert "gemini total timeout after 1s" in record["failure_reason"]
    assert record["failure_signature"] == "provider_timeout|gemini|total_timeout"
    assert read_json(logs / "work" / "cli_invocation.json")["trigger"] == "total_timeout"


async def test_a_cli_ignoring_sigterm_is_killed_after_the_grace(tmp_path):
    done, logs, work = await attractor_run(
        tmp_path, pipeline("anthropic", ', cli.idle_timeout="1s", max_retries=0'),
        "--backend", "cli", "--kill-grace", "300ms",
        env={**AGENT_ENV, "FAKE_CLI_SCENARIO": "stubborn"})
    assert done.returncode == 1
    assert "idle timeout" in final(logs)["failure_reason"]
    pids = [int(p) for p in (work / "pids").read_text().split()]
    assert await survivors(pids) == []


async def test_stage_timeout_cancels_the_cli_and_kills_its_group(tmp_path):
    done, logs, work = await run_cli(tmp_path, "openai", "idle", ', timeout="3s", max_retries=0')
    assert done.returncode == 1
    assert final(logs)["failure_reason"] == "stage timeout after 3s"
    pids = [int(p) for p in (work / "pids").read_text().split()]
    assert await survivors(pids) == []


async def test_output_growth_keeps_a_slow_cli_alive_and_drives_heartbeats(tmp_path):
    dot = pipeline("gemini", ', cli.idle_timeout="1s"')
    done, logs, _ = await attractor_run(
        tmp_path, dot, "--backend", "cli", "--stall-timeout", "1s", "--heartbeat-interval",
        "200ms", env={**AGENT_ENV, "FAKE_CLI_SCENARIO": "slow"})
    assert done.returncode == 0, done.stderr.decode()
    beats = [e for e in events(logs, "stage_heartbeat") if e["node_id"] == "work"]
    sizes = [e["output_bytes"] for e in beats]
    assert len(set(sizes)) >= 3 and sizes == sorted(sizes)


async def test_missing_executable_is_refused_before_the_run(tmp_path):
    env = {**AGENT_ENV, "ATTRACTOR_GEMINI_PATH": str(tmp_path / "no-such-gemini")}
    done, logs, _ = await attractor_run(tmp_path, pipeline("gemini"), "--backend", "cli", env=env)
    assert done.returncode == 2
    assert ("node work: backend cli: gemini executable not found on PATH; install it or set "
            "ATTRACTOR_GEMINI_PATH") in done.stderr.decode()
    assert not (logs / "final.json").exists()


async def test_executable_gone_by_the_time_the_stage_runs_is_a_deterministic_failure(tmp_path):
    agent = tmp_path / "gemini"
    agent.write_text(f'#!/bin/sh\nexec python3 "{FAKE_CLI / "fake_agent.py"}" gemini "$@"\n')
    agent.chmod(0o755)
    dot = pipeline("gemini").replace(
        "start -> work", f'gone [shape=parallelogram, tool_command="rm {agent}"]\n'
                         "  start -> gone -> work")
    done, logs, _ = await attractor_run(tmp_path, dot, "--backend", "cli",
                                        env={**AGENT_ENV, "ATTRACTOR_GEMINI_PATH": str(agent)})
    assert done.returncode == 1, done.stderr.decode()
    assert "gemini executable not found" in final(logs)["failure_reason"]
    assert final(logs)["failure_class"] == "deterministic"


async def test_node_without_a_cli_provider_is_refused_with_a_clear_reason(tmp_path):
    done, _, _ = await attractor_run(tmp_path, pipeline("mistral"), "--backend", "cli",
                                        env=AGENT_ENV)
    assert done.returncode == 2
    assert "node work: backend cli: no agent CLI for provider 'mistral'; set cli.agent" in (
        done.stderr.decode())


async def test_the_status_contract_offers_the_custom_outcomes_the_edges_route_on(tmp_path):
    dot = """digraph cli {
  start [shape=Mdiamond]; done [shape=Msquare]
  read [prompt="Read the spec", llm_provider=openai]
  work [prompt="Check the DoD", llm_provider=openai]
  plan [prompt="Plan", llm_provider=openai]
  start -> read -> work
  work -> plan [condition="outcome=needs_dod"]
  work -> plan [condition="outcome=has_dod && context.x=1"]
  work -> done [condition="outcome=success"]
  plan -> done
}"""
    done, logs, _work = await attractor_run(tmp_path, dot, "--backend", "cli",
                                           env={**AGENT_ENV, "FAKE_CLI_SCENARIO": "ok"})
    assert done.returncode == 0, done.stderr.decode()
    contract = (logs / "work" / "prompt.md").read_text()
    assert ('"outcome" may also be the decision this stage\'s edges route on: '
            '"needs_dod" | "has_dod"') in contract
    assert "may also be the decision" not in (logs / "read" / "prompt.md").read_text()
