"""The model catalog: the shipped data file, a user file over it, ``attractor models`` and the
``llm_model_known`` / ``llm_budgets`` lint rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from attractor_plugins.llm.catalog import load_catalog

CLI = [sys.executable, "-m", "attractor_core"]
DEFAULT_MODELS = ("gpt-5.2", "claude-sonnet-4-5", "gemini-3-flash-preview", "claude-opus-4-6")


def attractor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def test_the_shipped_catalog_prices_the_documented_default_models():
    catalog = load_catalog()
    for model in DEFAULT_MODELS:
        info = catalog.get(model)
        assert info is not None and info.priced and info.context_window, model
        assert info.prices_as_of
    assert catalog.get("anthropic/claude-sonnet-4.5").id == "claude-sonnet-4-5"
    assert catalog.get("claude-sonnet-4-5-20250929").id == "claude-sonnet-4-5"


def test_a_user_file_overrides_fields_and_adds_models(tmp_path):
    user = tmp_path / "prices.toml"
    user.write_text('prices_as_of = "2027-02-01"\n'
                    '[[model]]\nid = "gpt-5.2"\ninput = 1.0\n'
                    '[[model]]\nid = "qwen3-coder"\nprovider = "local"\ncontext_window = 32768\n'
                    'input = 0.0\noutput = 0.0\n')
    catalog = load_catalog(user)
    gpt = catalog.get("gpt-5.2")
    assert (gpt.input, gpt.output, gpt.prices_as_of) == (1.0, 14.0, "2027-02-01")
    assert catalog.get("qwen3-coder").context_window == 32768


def test_models_lists_one_provider_as_json_with_a_user_catalog_from_the_config(tmp_path):
    (tmp_path / "prices.toml").write_text('[[model]]\nid = "claude-haiku-4-5"\noutput = 4.0\n')
    (tmp_path / "run.toml").write_text('[llm]\ncatalog = "prices.toml"\n')
    done = attractor("models", "--provider", "anthropic", "--json", "--config",
                     str(tmp_path / "run.toml"))
    assert done.returncode == 0, done.stderr
    models = json.loads(done.stdout)
    assert {m["provider"] for m in models} == {"anthropic"}
    haiku = next(m for m in models if m["id"] == "claude-haiku-4-5")
    assert (haiku["input_per_mtok"], haiku["output_per_mtok"]) == (1.0, 4.0)


def test_models_table_and_its_errors(tmp_path):
    done = attractor("models")
    assert done.returncode == 0
    assert "gpt-5.2" in done.stdout and "prices: USD per million tokens" in done.stdout
    unknown = attractor("models", "--provider", "mistral")
    assert unknown.returncode == 2 and "providers: anthropic, gemini, openai" in unknown.stderr
    (tmp_path / "bad.toml").write_text('[[model]]\nid = "x"\ninput = "cheap"\n')
    bad = attractor("models", env={"ATTRACTOR_MODEL_CATALOG": str(tmp_path / "bad.toml")})
    assert bad.returncode == 2
    assert "model #1 (x): input must be a price in USD per million tokens" in bad.stderr


def test_validate_warns_on_an_unknown_model_and_refuses_a_bad_budget(tmp_path):
    dot = Path(tmp_path / "p.dot")
    dot.write_text("""digraph m {
  graph [max_llm_calls="many"]
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="A", llm_model="claude-sonet-4-5"]
  b [prompt="B", llm_provider=local, llm_model="my-own-model"]
  start -> a -> b -> done
}""")
    done = attractor("validate", str(dot))
    assert done.returncode == 1
    assert ("warning llm_model_known: llm_model 'claude-sonet-4-5' is not in the model "
            "catalog; did you mean 'claude-sonnet-4-5'?") in done.stdout
    assert "my-own-model" not in done.stdout  # a custom provider's models are its own
    assert ("error llm_budgets: max_llm_calls = 'many' (graph attribute) must be a whole "
            "number") in done.stdout


def test_validate_reports_a_broken_user_catalog_even_when_no_node_names_a_model(tmp_path):
    (tmp_path / "bad.toml").write_text('[[model]]\nid = "x"\ninput = "cheap"\n')
    dot = tmp_path / "p.dot"
    dot.write_text('digraph m {\n  start [shape=Mdiamond]; done [shape=Msquare]\n'
                   '  a [prompt="A"]\n  start -> a -> done\n}\n')
    done = attractor("validate", str(dot),
                     env={"ATTRACTOR_MODEL_CATALOG": str(tmp_path / "bad.toml")})
    assert done.returncode == 0, done.stderr
    assert "warning llm_model_known:" in done.stdout
    assert "input must be a price in USD per million tokens" in done.stdout
