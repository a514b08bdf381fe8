"""Mistakes caught before a run starts (kernel preflight)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.support import attractor

GATE = """digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  gate [shape=hexagon, label="Ship?"]
  start -> gate
  gate -> exit [label="[Y] Yes"]
}
"""


def test_unknown_interviewer_is_a_usage_error_before_anything_is_written(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(GATE)
    result = attractor("run", dot, "--interviewer", "telepathy", "--logs-root", tmp_path / "logs")
    assert result.returncode == 2
    assert "unknown interviewer 'telepathy'" in result.stderr
    assert not (tmp_path / "logs").exists()


def test_node_of_unknown_type_runs_as_codergen_with_a_warning(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      odd [type="nobody.provides", prompt="hi"]
      start -> odd -> exit
    }""")
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--quiet")
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
    warnings = [e for e in events if e["event"] == "warning" and e["node_id"] == "odd"]
    assert warnings and "nobody.provides" in warnings[0]["message"]
    assert (logs / "odd" / "response.md").exists()  # the codergen handler ran it
