"""The deterministic-failure cycle breaker runs the same code in parallel
branches and sub-pipelines as in the main loop."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.support import attractor, events

LOOP = """
  verify [sim.outcome="fail", sim.failure_reason="tests failed in module {module}"]
  check [shape=diamond]
  verify -> check
  check -> verify [condition="outcome!=success"]
  check -> {after} [condition="outcome=success"]
"""



def test_breaker_stops_a_looping_branch_and_the_join_policy_decides(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      par [shape=component]
      join [shape=tripleoctagon]
      ok [prompt="fine"]
      start -> par
      par -> ok
      par -> verify
      ok -> join
      join -> exit
    """ + LOOP.format(module="a", after="join") + "}")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr
    recorded = events(logs)
    checks = [e for e in recorded if e["event"] == "cycle_check"]
    assert [c["count"] for c in checks] == [1, 2, 3]
    assert {c["branch_key"] for c in checks} == {"verify"}
    breaker = [e for e in recorded if e["event"] == "cycle_breaker"]
    assert len(breaker) == 1 and breaker[0]["branch_key"] == "verify"
    results = json.loads((logs / "par" / "parallel_results.json").read_text())["results"]
    by_key = {r["branch_key"]: r for r in results}
    assert by_key["verify"]["status"] == "fail"
    assert by_key["verify"]["failure_reason"] == "tests failed in module a"
    assert by_key["ok"]["status"] == "success"


def test_breaker_stops_a_looping_sub_pipeline(tmp_path: Path) -> None:
    (tmp_path / "child.dot").write_text("""digraph C {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      start -> verify
    """ + LOOP.format(module="b", after="exit") + "}")
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      sub [type="subgraph", subgraph.dotfile="child.dot"]
      start -> sub -> exit
    }""")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    assert result.returncode == 1
    child = json.loads((logs / "sub" / "child" / "final.json").read_text())
    assert child["exit_path"] == "cycle_breaker"
    assert child["failure_reason"] == "tests failed in module b"
    parent = json.loads((logs / "final.json").read_text())
    assert "tests failed in module b" in parent["failure_reason"]
    forwarded = [e for e in events(logs) if e["event"] == "child_run_event"
                 and e["child_event"]["event"] == "cycle_breaker"]
    assert len(forwarded) == 1
