"""LLM spend of a parallel branch run by a remote executor (a real ``dask-local:2``
cluster): the branch's worker has plugin state of its own, which comes back with the
branch's result into the run's totals, and a run budget it crosses stops the whole run.

The fake provider (on 127.0.0.1, in this test's event loop) answers every call with 100k
input and 20k output tokens, $0.40 at the test catalog's prices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from attractor_core.engine import resume_pipeline
from tests.backends.support import read_json
from tests.backends.test_api_agent import run_in_process
from tests.backends.test_llm_accounting import answers, chat_usage, llm
from tests.backends.test_llm_sub_runs import CHILD, PARENT, assert_stopped_at_the_budget
from tests.llm.fake_server import FakeProvider, running_fake_provider

pytest.importorskip("distributed")

PIPELINE = """digraph remote {
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="A", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  par [shape=component]; join [shape=tripleoctagon]
  b [prompt="B", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  t [shape=parallelogram, tool_command="true"]
  start -> a -> par; par -> b -> join; par -> t -> join; join -> done
}"""

CALL = chat_usage(100_000, 20_000)


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    async with running_fake_provider() as server:
        yield server


def usage_of(path):
    return read_json(path)["plugins"]["llm_usage"]


def remote_options(fake, tmp_path, executor: str) -> dict:
    """Run options with a $0.70 budget; the workers read the providers from the config
    file."""
    table = llm(fake, tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(
        f'[llm]\ncatalog = "{table["catalog"]}"\nretry = {{ max_retries = 0 }}\n'
        f'[llm.providers.p]\nprotocol = "openai_chat"\napi_key_env = ""\n'
        f'base_url = "{table["providers"]["p"]["base_url"]}"\n')
    return {"backend": "api", "llm": table, "config_file": str(config), "executor": executor,
            "max_cost_usd": "0.7"}


async def test_a_remote_branchs_spend_counts_in_the_run_and_trips_its_budget(tmp_path, fake):
    options = remote_options(fake, tmp_path, "dask-local:2")
    answers(fake, CALL, CALL)
    record, logs, _ = await run_in_process(tmp_path, fake, PIPELINE, options)
    # a ($0.40, here) and b ($0.40, on a worker): b's stage crosses the run's $0.70.
    assert_stopped_at_the_budget(record, "b")
    final = usage_of(logs / "final.json")
    assert (final["total"]["calls"], final["total"]["cost_usd"]) == (2, 0.8)
    assert final["by_stage"]["b"]["cost_usd"] == 0.4
    assert usage_of(logs / "checkpoint.json")["total"]["cost_usd"] == 0.4  # b continues it

    # Resumed with a raised budget, b runs again on a worker: its first call still counts
    # (kept in the branch's checkpoint) and its whole spend is added once.
    answers(fake, CALL)
    resumed = await resume_pipeline(logs, handle_signals=False,
                                    options={**options, "max_cost_usd": "5"})
    assert resumed.status == "success", resumed.failure_reason
    final = usage_of(logs / "final.json")
    assert (final["total"]["calls"], final["total"]["cost_usd"]) == (3, 1.2)
    assert final["by_stage"]["b"]["calls"] == 2
    assert final["by_provider"]["p"]["cost_usd"] == 1.2


async def test_a_remote_sub_pipeline_starts_from_the_runs_spend_and_its_stop_stops_the_run(
        tmp_path, fake):
    (tmp_path / "child.dot").write_text(CHILD)
    answers(fake, CALL, CALL)
    record, logs, _ = await run_in_process(tmp_path, fake, PARENT,
                                           remote_options(fake, tmp_path, "dask-local:1"))
    # a ($0.40, here), then the child's c ($0.40, on a worker, which was handed a's spend):
    # c crosses the run's $0.70 and the child's stop stops the parent run too.
    assert_stopped_at_the_budget(record, "c")
    assert read_json(logs / "sub" / "child" / "final.json")["exit_path"] == "budget_exceeded"
    assert usage_of(logs / "final.json")["total"]["cost_usd"] == 0.8
