"""A sub-pipeline that (indirectly) includes itself fails instead of nesting forever."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.support import attractor


def test_mutually_including_pipelines_fail_structurally(tmp_path: Path) -> None:
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.dot").write_text(f"""digraph {name.upper()} {{
          start [shape=Mdiamond]
          exit [shape=Msquare]
          sub [type="subgraph", subgraph.dotfile="{other}.dot"]
          start -> sub -> exit
        }}""")
    logs = tmp_path / "logs"
    result = attractor("run", tmp_path / "a.dot", "--logs-root", logs, "--quiet", timeout=60)
    assert result.returncode == 1
    final = json.loads((logs / "final.json").read_text())
    assert "sub-pipeline cycle: a.dot -> b.dot -> a.dot" in final["failure_reason"]
    assert (logs / "sub" / "child" / "sub" / "status.json").exists()  # one level, then refused
    assert not (logs / "sub" / "child" / "sub" / "child" / "sub").exists()
