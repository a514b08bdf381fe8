"""Context fidelity and preamble synthesis (spec §5.4) as the api backend sends them."""

from __future__ import annotations

import json

import pytest

from attractor_plugins.backends.fidelity import resolve_fidelity
from attractor_plugins.backends.preamble import RunSoFar, StageRecord, synthesize

from .test_api_agent import RESPONSES, answer, run_in_process


@pytest.mark.parametrize(("edge", "node", "graph", "expected"), [
    ("truncate", "full", "summary:low", "truncate"),
    ("", "full", "summary:low", "full"),
    ("", "", "summary:low", "summary:low"),
    ("", "", "", "compact"),
    ("bogus", "", "summary:high", "summary:high"),
])
def test_resolution_precedence_is_edge_node_graph_then_compact(edge, node, graph, expected):
    assert resolve_fidelity(edge, node, graph) == expected


def pipeline(graph_attrs: str = "", node_attrs: str = "", edge_attrs: str = "") -> str:
    return f"""digraph fid {{
  goal="tidy the repo" {graph_attrs}
  start [shape=Mdiamond]; done [shape=Msquare]
  node [llm_provider=fake, llm_model="m", codergen.mode="oneshot"]
  plan [prompt="Plan it"]
  code [prompt="Do it" {node_attrs}]
  start -> plan
  plan -> code [{edge_attrs}]
  code -> done
}}"""


def sent_prompt(fake, index: int) -> str:
    return json.dumps(fake.requests[index].body["input"])


@pytest.mark.parametrize(("dot", "mode"), [
    (pipeline(), "compact"),
    (pipeline(graph_attrs='default_fidelity="summary:low"'), "summary:low"),
    (pipeline(graph_attrs='default_fidelity="summary:low"', node_attrs=', fidelity="truncate"'),
     "truncate"),
    (pipeline(node_attrs=', fidelity="truncate"', edge_attrs='fidelity="full"'), "full"),
])
async def test_the_stage_prompt_carries_the_resolved_fidelity(tmp_path, fake, dot, mode):
    fake.script(answer("PLAN: three steps"), answer("done"), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    prompt = sent_prompt(fake, 1)
    assert f"## Run context (fidelity: {mode})" in prompt
    assert "Goal: tidy the repo" in prompt and "Do it" in prompt
    assert ("- plan: success" in prompt) == (mode in ("compact", "full"))
    assert ("PLAN: three steps" in prompt) == (mode == "full")
    assert (logs / "code" / "prompt.md").read_text().startswith(
        f"## Run context (fidelity: {mode})")


def run_so_far(stages: int, response: str = "") -> RunSoFar:
    records = tuple(StageRecord(f"s{i}", "success") for i in range(stages))
    return RunSoFar("r1", "g", records, {"answer": "42", "internal.retry_count.x": 1,
                                         "graph.goal": "g"},
                    {r.node_id: response for r in records} if response else {})


def test_truncate_carries_only_goal_and_run_id():
    text = synthesize("truncate", run_so_far(5))
    assert text.splitlines()[1:] == ["Goal: g", "Run: r1"]


def test_compact_lists_stages_and_user_context_but_not_internal_keys():
    text = synthesize("compact", run_so_far(2))
    assert "- s0: success" in text and "- s1: success" in text
    assert "- answer: 42" in text and "internal." not in text and "graph.goal" not in text


@pytest.mark.parametrize(("mode", "budget"), [
    ("summary:low", 2_400), ("summary:medium", 6_000), ("summary:high", 12_000)])
def test_summaries_stay_within_their_budget(mode, budget):
    text = synthesize(mode, run_so_far(400, response="x" * 5_000))
    assert len(text) <= budget + 60


def test_summary_levels_carry_increasing_detail():
    state = run_so_far(30, response="resp")
    low, medium, high = (synthesize(f"summary:{m}", state) for m in ("low", "medium", "high"))
    assert "Stages completed: 30 (30 success)" in low and "- s29" not in low
    assert "- s29: success" in medium and "- s21: success" not in medium
    assert "- s10: success" in high and "### Response of s29" in high
    assert "### Response of" not in medium
