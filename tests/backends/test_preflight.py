"""Preflight: every LLM node's backend, provider, model and key (or executable) resolve before
the first stage runs; otherwise the run exits 2, listing every node, and nothing has run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trio

from tests.llm.fake_server import Reply, wire_stream

from .support import CLI, FAKE_CLI, events, read_json

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")

# A tool stage with a side effect runs before the LLM stages: a mid-run failure would leave it.
PIPELINE = """digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  touch [shape=parallelogram, tool_command="touch touched"]
  draft [prompt="Draft it"%s]
  review [prompt="Review it"%s]
  start -> touch -> draft -> review -> exit
}"""


def dot(draft: str = "", review: str = "") -> str:
    return PIPELINE % (draft, review)


def keyless_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any provider key (a developer may have one)."""
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    return {**env, **extra}


async def run_clean(tmp_path: Path, text: str, *options: str, env: dict[str, str]
                    ) -> tuple[subprocess.CompletedProcess[bytes], Path, Path]:
    """``attractor run`` with exactly ``env`` (not merged into this process's environment)."""
    (tmp_path / "pipeline.dot").write_text(text)
    logs, work = tmp_path / "logs", tmp_path / "work"
    work.mkdir(exist_ok=True)
    command = [*CLI, "run", str(tmp_path / "pipeline.dot"), "--logs-root", str(logs),
               "--workdir", str(work), "--quiet", *options]
    done = await trio.run_process(command, capture_stdout=True, capture_stderr=True,
                                  check=False, env=env)
    return done, logs, work


def assert_nothing_ran(logs: Path, work: Path) -> None:
    assert not (work / "touched").exists()
    assert not (logs / "manifest.json").exists() and not (logs / "final.json").exists()


async def test_unknown_backend_lists_every_llm_node_before_the_tool_stage_runs(tmp_path):
    done, logs, work = await run_clean(tmp_path, dot(), "--backend", "nosuch",
                                       env=keyless_env())
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "pipeline cannot run (2 problems found before the first stage)" in err
    for node, line in (("draft", 5), ("review", 6)):
        assert (f"pipeline.dot:{line}: node {node}: unknown codergen backend 'nosuch' "
                "(available: api, cli, simulate): pass --backend") in err
    assert "Traceback" not in err
    assert_nothing_ran(logs, work)


async def test_api_backend_without_a_key_names_the_variable_to_export(tmp_path):
    done, logs, work = await run_clean(
        tmp_path, dot(", llm_provider=anthropic", ", llm_provider=gemini"), "--backend", "api",
        env=keyless_env())
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "node draft: backend api: provider anthropic needs ANTHROPIC_API_KEY: export it" in err
    assert "node review: backend api: provider gemini needs GEMINI_API_KEY or GOOGLE_API_KEY" in err
    assert_nothing_ran(logs, work)


async def test_api_backend_with_no_provider_at_all_says_what_to_set(tmp_path):
    done, logs, work = await run_clean(tmp_path, dot(), "--backend", "api", env=keyless_env())
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "node draft: backend api: no LLM provider: set llm_provider on the node" in err
    assert_nothing_ran(logs, work)


async def test_api_backend_custom_provider_without_a_model_is_refused(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[llm]\ndefault_provider = "local"\n[llm.providers.local]\n'
                      'protocol = "openai_chat"\napi_key_env = ""\n'
                      'base_url = "http://127.0.0.1:9/v1"\n')
    done, logs, work = await run_clean(tmp_path, dot(draft=", llm_model=m1"), "--backend",
                                       "api", "--config", str(config), env=keyless_env())
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "node review: backend api: no model for provider local: set llm_model" in err
    assert "node draft" not in err  # it names its model
    assert_nothing_ran(logs, work)


async def test_unknown_failover_policy_is_refused_before_the_run(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[llm.failover]\npolicy = "telepathic"\n')
    done, logs, work = await run_clean(tmp_path, dot(), "--backend", "api", "--config",
                                       str(config), env=keyless_env(OPENAI_API_KEY="sk-x"))
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "policy = 'telepathic': no plugin provides it" in err
    assert_nothing_ran(logs, work)


async def test_cli_backend_without_the_agent_executable_names_the_override(tmp_path):
    env = keyless_env(PATH=str(Path(sys.executable).parent))
    env.pop("ATTRACTOR_CLAUDE_PATH", None)
    done, logs, work = await run_clean(tmp_path, dot(", cli.agent=claude", ", cli.agent=claude"),
                                       "--backend", "cli", env=env)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert ("node draft: backend cli: claude executable not found on PATH; install it or set "
            "ATTRACTOR_CLAUDE_PATH") in err
    assert "node review: backend cli: claude executable not found" in err
    assert_nothing_ran(logs, work)


async def test_cli_backend_with_the_executable_passes_preflight(tmp_path):
    env = keyless_env(ATTRACTOR_CLAUDE_PATH=str(FAKE_CLI / "claude"))
    done, _, work = await run_clean(tmp_path, dot(", cli.agent=claude, auto_status=true",
                                                     ", cli.agent=claude, auto_status=true"),
                                       "--backend", "cli", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert (work / "touched").exists()


async def test_graph_level_llm_model_reaches_the_request_and_the_default_model_applies(
        tmp_path, fake):
    """The tutorial's case: only OPENAI_API_KEY set; the node inherits the graph's model."""
    fake.always(Reply(sse=wire_stream("openai_responses", text=["done"])))
    env = keyless_env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=f"{fake.url}/v1")
    text = dot(", codergen.mode=oneshot", ", codergen.mode=oneshot")
    done, logs, _ = await run_clean(tmp_path, text, "--backend", "api", "--set",
                                    "llm_model=gpt-from-graph", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert read_json(logs / "draft" / "api_request.json")["model"] == "gpt-from-graph"
    again = tmp_path / "again"
    again.mkdir()
    done, logs, _ = await run_clean(again, text, "--backend", "api", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert read_json(logs / "review" / "api_request.json")["model"] == "gpt-5.2"
    selected = events(logs, "provider_selected")
    assert {e["provider"] for e in selected} == {"openai"}


async def test_a_prompt_longer_than_the_models_context_window_is_refused(tmp_path):
    prompt = "word " * 900_000  # about 1.1M tokens: more than claude-sonnet-4-5's 200k
    text = dot(', llm_provider=anthropic, llm_model="claude-sonnet-4-5"').replace(
        'prompt="Draft it"', f'prompt="{prompt}"')
    done, logs, work = await run_clean(tmp_path, text, "--backend", "api",
                                       env=keyless_env(ANTHROPIC_API_KEY="k"))
    assert done.returncode == 2
    err = done.stderr.decode()
    assert ("node draft: backend api: its prompt is about 1125000 tokens (4 characters a "
            "token), more than the 200000-token context window of claude-sonnet-4-5") in err
    assert_nothing_ran(logs, work)


async def test_a_bad_budget_in_the_config_file_is_refused_before_the_run(tmp_path):
    (tmp_path / "run.toml").write_text("[run]\nmax_cost_usd = \"lots\"\n")
    done, logs, work = await run_clean(
        tmp_path, dot(', llm_provider=anthropic', ', llm_provider=anthropic'), "--backend",
        "api", "--config", str(tmp_path / "run.toml"), env=keyless_env(ANTHROPIC_API_KEY="k"))
    assert done.returncode == 2
    assert ("node draft: backend api: max_cost_usd = 'lots' (config file [run]) must be a "
            "number of US dollars") in done.stderr.decode()
    assert_nothing_ran(logs, work)
