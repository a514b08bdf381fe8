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


class _Picky:
    """A third-party handler with a preflight check: nodes need a ``ticket`` attribute."""

    def preflight(self, node, graph, run):
        if node.get("ticket") == "boom":
            raise RuntimeError("checker bug")
        return [] if node.get("ticket") else ["no ticket: set ticket=... on the node"]

    async def execute(self, node, context, graph, run):
        from attractor_core.model import Outcome

        return Outcome.success()


class _PickyPlugin:
    from attractor_core.plugins import hookimpl

    @hookimpl
    def attractor_handler_types(self):
        return {"picky": _Picky()}


PICKY = """digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  a [type=picky, ticket=T-1]
  b [type=picky]
  c [type=picky, ticket=boom]
  start -> a -> b -> c -> exit
}
"""


async def test_a_plugin_handlers_preflight_answers_are_listed_and_a_crash_is_reported(
        tmp_path: Path) -> None:
    import pytest

    from attractor_core.engine import run_pipeline
    from attractor_core.engine.preflight import PreflightError
    from attractor_core.plugins import make_plugin_manager

    dot = tmp_path / "p.dot"
    dot.write_text(PICKY)
    pm = make_plugin_manager(extra_plugins=[_PickyPlugin()])
    with pytest.raises(PreflightError) as caught:
        await run_pipeline(dot, logs_root=tmp_path / "logs", pm=pm, handle_signals=False)
    lines = str(caught.value).splitlines()
    assert lines[0] == "pipeline cannot run (2 problems found before the first stage):"
    assert lines[1] == f"  {dot}:5: node b: no ticket: set ticket=... on the node"
    assert lines[2].startswith(f"  {dot}:6: node c: the preflight check of _Picky raised "
                               "RuntimeError: checker bug; fix or uninstall the plugin")
    assert not (tmp_path / "logs").exists()


def test_nodes_of_sub_pipelines_are_checked_too(tmp_path: Path) -> None:
    (tmp_path / "parent.dot").write_text("""digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  touch [shape=parallelogram, tool_command="touch touched"]
  sub [type="subgraph", subgraph.dotfile="child.dot"]
  start -> touch -> sub -> exit
}
""")
    (tmp_path / "child.dot").write_text("""digraph C {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  work [prompt="x"]
  again [type="subgraph", subgraph.dotfile="child.dot"]
  start -> work -> again -> exit
}
""")
    result = attractor("run", tmp_path / "parent.dot", "--backend", "nosuch", "--workdir",
                       tmp_path, "--logs-root", tmp_path / "logs")
    assert result.returncode == 2, result.stderr
    assert (f"{tmp_path / 'parent.dot'}:5: node sub: in child.dot: {tmp_path / 'child.dot'}:4: "
            "node work: unknown codergen backend 'nosuch'") in result.stderr
    assert "1 problem found" in result.stderr  # the child that includes itself is checked once
    assert not (tmp_path / "touched").exists()
