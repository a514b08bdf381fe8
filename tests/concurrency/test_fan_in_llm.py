"""Fan-in LLM ranking (spec §4.9): a fan-in with a ``prompt`` asks the codergen backend
to choose the winner; an unusable answer falls back to the heuristic with a warning."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.support import context, tool
from tests.engine.support import events, pipeline, run
from tests.llm.conftest import stream_path
from tests.llm.fake_server import FakeProvider, Reply, running_fake_provider, wire_stream

PROTOCOL = "openai_chat"
RANKER = ', prompt="Pick the branch that best serves $goal", llm_provider=p, llm_model="m", ' \
         'codergen.mode="oneshot"'


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    async with running_fake_provider() as server:
        yield server


def _options(fake: FakeProvider) -> dict[str, Any]:
    table = {"protocol": PROTOCOL, "api_key_env": "", "base_url": f"{fake.url}/v1"}
    return {"backend": "api", "llm": {"providers": {"p": table}, "retry": {"max_retries": 0}}}


def _graph(branches: list[str], fan_in: str, lines: list[str] | None = None) -> str:
    """Tool branches (so the api backend serves only the fan-in), all joining ``join``."""
    lines = lines if lines is not None else [tool(b, "true") for b in branches]
    return "\n".join(["  par [shape=component]", f"  join [shape=tripleoctagon{fan_in}]",
                      *lines, "  start -> par", *(f"  par -> {b} -> join" for b in branches),
                      "  join -> exit"])


def _answer(fake: FakeProvider, text: str) -> None:
    fake.script(Reply(sse=wire_stream(PROTOCOL, text=[text[:4], text[4:]])),
                path=stream_path(PROTOCOL))


def _warnings(root: Path) -> list[str]:
    return [e["message"] for e in events(root, "warning") if e.get("node_id") == "join"]


async def test_llm_answer_picks_the_winner_over_the_heuristic(tmp_path: Path,
                                                              fake: FakeProvider) -> None:
    _answer(fake, "Branch b covers more cases.\nbest: b\n")
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, _graph(["a", "b"], RANKER), goal="the release")
    record = await run(dot, root, options=_options(fake))
    assert record.status == "success", record.failure_reason
    ctx = context(root)
    assert ctx["parallel.fan_in.best_id"] == "b"  # the heuristic alone picks a (key order)
    assert ctx["parallel.fan_in.ranking"] == "llm"
    assert ctx["parallel.fan_in.losers"] == ["a"]
    sent = json.dumps(fake.requests[0].body)
    assert "Pick the branch that best serves the release" in sent
    assert "### a" in sent and "### b" in sent and "best: <key>" in sent
    prompt = (root / "join" / "prompt.md").read_text()
    assert "Pick the branch that best serves the release" in prompt
    assert "- status: success" in prompt
    assert (root / "join" / "response.md").read_text() == "Branch b covers more cases.\nbest: b\n"
    assert _warnings(root) == []


async def test_answer_naming_no_candidate_falls_back_with_a_warning(tmp_path: Path,
                                                                    fake: FakeProvider) -> None:
    _answer(fake, "Neither branch looks complete to me.")
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, _graph(["b", "a"], RANKER)), root,
                       options=_options(fake))
    assert record.status == "success", record.failure_reason
    ctx = context(root)
    assert ctx["parallel.fan_in.best_id"] == "a"
    assert ctx["parallel.fan_in.ranking"] == "heuristic"
    assert any("named no candidate" in w and "chose a instead" in w for w in _warnings(root))


async def test_a_failed_branch_named_by_the_llm_is_not_chosen(tmp_path: Path,
                                                              fake: FakeProvider) -> None:
    _answer(fake, "best: c")
    lines = [tool("a", "true"), tool("b", "true"), tool("c", "exit 3")]
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, _graph(["a", "b", "c"], RANKER, lines)), root,
                       options=_options(fake))
    assert record.status == "success", record.failure_reason
    ctx = context(root)
    assert ctx["parallel.fan_in.best_id"] == "a"
    assert ctx["parallel.fan_in.ranking"] == "heuristic"
    assert any("chose branch c, which ended fail" in w for w in _warnings(root))
    assert "### c" not in (root / "join" / "prompt.md").read_text()  # only finished branches


async def test_first_candidate_key_named_without_a_best_line(tmp_path: Path,
                                                            fake: FakeProvider) -> None:
    _answer(fake, "I would go with beta; alpha is weaker.")
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, _graph(["alpha", "beta"], RANKER)), root,
              options=_options(fake))
    assert context(root)["parallel.fan_in.best_id"] == "beta"
    assert context(root)["parallel.fan_in.ranking"] == "llm"


async def test_simulate_backend_default_falls_back_with_a_warning(tmp_path: Path) -> None:
    boxes = [f'  {b} [shape=box, prompt="p", sim.outcome="success"]' for b in ("b", "a")]
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, _graph(["b", "a"], ', prompt="Pick for $goal"', boxes), goal="g1")
    record = await run(dot, root)
    assert record.status == "success", record.failure_reason
    ctx = context(root)
    assert ctx["parallel.fan_in.best_id"] == "a"
    assert ctx["parallel.fan_in.ranking"] == "heuristic"
    assert any("named no candidate" in w for w in _warnings(root))
    assert (root / "join" / "prompt.md").read_text().startswith("Pick for g1\n")
    assert (root / "join" / "response.md").read_text().startswith("[Simulated] Response")


async def test_failing_ranker_never_fails_the_fan_in(tmp_path: Path) -> None:
    # The simulated ranker itself fails (and writes a failing status.json in the stage dir).
    fan_in = ', prompt="Pick", sim.outcome="fail", sim.failure_reason="model overloaded"'
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, _graph(["a", "b"], fan_in)), root)
    assert record.status == "success", record.failure_reason
    assert context(root)["parallel.fan_in.best_id"] == "a"
    assert any("ended fail: model overloaded" in w for w in _warnings(root))
    assert (root / "join" / "ranker_status.json").exists()  # kept, but not the stage's verdict


async def test_unknown_backend_falls_back_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    record = await run(pipeline(tmp_path, _graph(["a", "b"], ', prompt="Pick"')), root,
                       options={"backend": "no-such-backend"})
    assert record.status == "success", record.failure_reason
    assert context(root)["parallel.fan_in.ranking"] == "heuristic"
    assert any("unknown codergen backend 'no-such-backend'" in w for w in _warnings(root))


async def test_no_prompt_means_heuristic_without_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    await run(pipeline(tmp_path, _graph(["b", "a"], "")), root)
    assert context(root)["parallel.fan_in.ranking"] == "heuristic"
    assert _warnings(root) == []
    assert not (root / "join" / "prompt.md").exists()
