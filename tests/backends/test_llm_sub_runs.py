"""LLM spend of sub-pipelines: added to the parent run's totals when the child ends, and
counted against the parent's run budgets while it runs (a child crossing one stops the
whole run), across a resume.

Each call of the fake provider costs $0.40 (100k in x $2 + 20k out x $10 per million)."""

from __future__ import annotations

import trio

from attractor_core.engine import resume_pipeline

from .support import CLI, events, read_json
from .test_api_agent import run_in_process
from .test_llm_accounting import answers, chat_usage, llm

PARENT = """digraph parent {
  start [shape=Mdiamond]; done [shape=Msquare]
  a [prompt="A", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  sub [type="subgraph", subgraph.dotfile="child.dot"]
  start -> a -> sub -> done
}"""

CHILD = """digraph child {
  start [shape=Mdiamond]; done [shape=Msquare]
  c [prompt="C", codergen.mode="oneshot", llm_provider=p, llm_model="m"]
  start -> c -> done
}"""

CALL = chat_usage(100_000, 20_000)


def usage_of(path):
    return read_json(path)["plugins"]["llm_usage"]


def assert_stopped_at_the_budget(record, node: str) -> None:
    """Stopped by the $0.70 run budget at $0.80, after a call in ``node``; resumable."""
    assert (record.status, record.exit_path) == ("fail", "budget_exceeded"), \
        record.failure_reason
    assert record.failure_reason.startswith(
        "budget max_cost_usd exceeded (command line): spent $0.8000 of $0.7, after a call in "
        f"node {node}")
    assert record.can_resume


async def resumed_total(fake, logs, options):
    """Resume with a budget of $5, one more call answered: the run's totals."""
    answers(fake, CALL)
    resumed = await resume_pipeline(logs, handle_signals=False,
                                    options={**options, "max_cost_usd": "5"})
    assert resumed.status == "success", resumed.failure_reason
    return usage_of(logs / "final.json")["total"]


async def test_a_childs_spend_is_added_to_the_parents_totals(tmp_path, fake):
    (tmp_path / "child.dot").write_text(CHILD)
    answers(fake, CALL, CALL)
    record, logs, _ = await run_in_process(tmp_path, fake, PARENT,
                                           {"backend": "api", "llm": llm(fake, tmp_path)})
    assert record.status == "success", record.failure_reason
    child = usage_of(logs / "sub" / "child" / "final.json")
    assert (child["total"]["calls"], child["total"]["cost_usd"]) == (1, 0.4)
    for artifact in ("final.json", "checkpoint.json"):
        parent = usage_of(logs / artifact)
        assert (parent["total"]["calls"], parent["total"]["cost_usd"]) == (2, 0.8)
        assert {k: v["cost_usd"] for k, v in parent["by_stage"].items()} == {"a": 0.4, "c": 0.4}
        assert parent["by_model"]["p/m"]["calls"] == parent["by_provider"]["p"]["calls"] == 2
    status = await trio.run_process([*CLI, "status", "--logs-root", str(logs)],
                                    capture_stdout=True, check=False)
    assert "spent $0.80: 200k in / 40k out tokens in 2 LLM calls" in status.stdout.decode()


async def test_a_child_crossing_the_parents_budget_stops_the_run_and_resume_counts_on(
        tmp_path, fake):
    (tmp_path / "child.dot").write_text(CHILD)
    answers(fake, CALL, CALL)
    options = {"backend": "api", "llm": llm(fake, tmp_path), "max_cost_usd": "0.7"}
    record, logs, _ = await run_in_process(tmp_path, fake, PARENT, options)
    assert_stopped_at_the_budget(record, "c")
    child_final = read_json(logs / "sub" / "child" / "final.json")
    assert child_final["exit_path"] == "budget_exceeded"
    # final.json shows the child's spend; the checkpoint leaves it to the child's own.
    assert usage_of(logs / "final.json")["total"]["cost_usd"] == 0.8
    assert usage_of(logs / "checkpoint.json")["total"]["cost_usd"] == 0.4
    warnings = [e["child_event"] for e in events(logs, "child_run_event")
                if e["child_event"]["event"] == "llm_budget_warning"]
    assert [(w["budget"], w["spent"]) for w in warnings] == [("max_cost_usd", 0.8)]

    # The child continues (c runs again) and hands back its whole spend once.
    total = await resumed_total(fake, logs, options)
    assert (total["calls"], total["cost_usd"]) == (3, 1.2)
    assert usage_of(logs / "final.json")["by_stage"]["c"]["calls"] == 2


FAN_OUT = """digraph fan {
  start [shape=Mdiamond]; done [shape=Msquare]
  par [shape=component]; join [shape=tripleoctagon]
  s1 [type="subgraph", subgraph.dotfile="child.dot"]
  s2 [type="subgraph", subgraph.dotfile="child.dot"]
  start -> par; par -> s1 -> join; par -> s2 -> join; join -> done
}"""


async def test_sub_pipelines_running_side_by_side_share_the_run_budget(tmp_path, fake):
    # Two branches each run a child spending $0.40: each alone is under the run's $0.70,
    # together they are over it. Whichever child's call ends second sees the other's spend
    # (live while that child runs, in the run's totals once it ended) and stops the run.
    (tmp_path / "child.dot").write_text(CHILD)
    answers(fake, CALL, CALL)
    options = {"backend": "api", "llm": llm(fake, tmp_path), "max_cost_usd": "0.7"}
    record, logs, _ = await run_in_process(tmp_path, fake, FAN_OUT, options)
    assert_stopped_at_the_budget(record, "c")
    total = usage_of(logs / "final.json")["total"]
    assert (total["calls"], total["cost_usd"]) == (2, 0.8)

    # Resumed with a raised budget: the stopped child runs c again; nothing is counted twice.
    total = await resumed_total(fake, logs, options)
    assert (total["calls"], total["cost_usd"]) == (3, 1.2)
