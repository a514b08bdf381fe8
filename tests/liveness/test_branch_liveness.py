"""Fan-out-aware liveness: a hung branch is caught
even while its siblings are busy, and a sub-pipeline is watched by its parent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.support import attractor, events


def test_silent_branch_is_stalled_alone_while_a_sibling_progresses(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      par [shape=component]
      join [shape=tripleoctagon]
      hung [shape=parallelogram, tool_command="sleep 20"]
      busy [shape=parallelogram,
            tool_command="for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo $i; sleep 0.1; done"]
      start -> par
      par -> hung
      par -> busy
      hung -> join
      busy -> join
      join -> exit
    }""")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet",
                       "--stall-timeout", "1s", "--heartbeat-interval", "100ms",
                       "--stall-check-interval", "100ms")
    assert result.returncode == 0, (result.stdout, result.stderr)
    recorded = events(logs)
    assert [e["branch_key"] for e in recorded if e["event"] == "branch_stalled"] == ["hung"]
    assert not [e for e in recorded if e["event"] == "stall_watchdog_timeout"]
    outcome = json.loads((logs / "par" / "parallel_results.json").read_text())
    by_key = {r["branch_key"]: r for r in outcome["results"]}
    assert by_key["busy"]["status"] == "success"
    assert by_key["hung"]["status"] == "fail"
    assert by_key["hung"]["failure_class"] == "transient_infra"
    assert by_key["hung"]["failure_reason"].startswith("branch hung stalled: no progress for 1")
    final = json.loads((logs / "final.json").read_text())
    assert final["status"] == "success"  # the fan-in picked the busy branch


def test_every_branch_silent_stalls_the_run(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      par [shape=component]
      join [shape=tripleoctagon]
      a [shape=parallelogram, tool_command="sleep 20"]
      b [shape=parallelogram, tool_command="sleep 20"]
      start -> par
      par -> a
      par -> b
      a -> join
      b -> join
      join -> exit
    }""")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet",
                       "--stall-timeout", "800ms", "--stall-check-interval", "100ms")
    assert result.returncode == 1
    final = json.loads((logs / "final.json").read_text())
    assert final["exit_path"] == "watchdog_stall"
    stall = next(e for e in events(logs) if e["event"] == "stall_watchdog_timeout")
    assert sorted(stall["stalled_branches"]) == ["a", "b"]


def test_sub_pipeline_is_watched_by_the_parent_watchdog(tmp_path: Path) -> None:
    (tmp_path / "child.dot").write_text("""digraph C {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      hang [shape=parallelogram, tool_command="sleep 20"]
      start -> hang -> exit
    }""")
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      sub [type="subgraph", subgraph.dotfile="child.dot"]
      start -> sub -> exit
    }""")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet",
                       "--stall-timeout", "800ms", "--stall-check-interval", "100ms")
    assert result.returncode == 1
    final = json.loads((logs / "final.json").read_text())
    assert final["exit_path"] == "watchdog_stall"
    child_final = json.loads((logs / "sub" / "child" / "final.json").read_text())
    assert child_final["status"] in ("canceled", "fail")
