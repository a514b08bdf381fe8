"""Sub-pipelines (spec §9.4, ``type="subgraph"``): the child's final outcome is the
node's outcome; its artifacts live under ``{stage_dir}/child/`` and its events reach
the parent's progress.ndjson as ``child_run_event``."""

from __future__ import annotations

from pathlib import Path

from tests.concurrency.support import tool
from tests.engine.support import events, final, pipeline, read_json, run, write

CHILD_OK = """digraph Child {
  start [shape=Mdiamond]
  exit [shape=Msquare]
%s
  start -> work -> exit
}
"""


def _parent(tmp_path: Path, attrs: str) -> Path:
    body = f"""
  seed [shape=box, prompt="p", sim.context_updates="{{\\"who\\": \\"parent\\"}}"]
  sub [type="subgraph", {attrs}]
  start -> seed -> sub -> exit
"""
    return pipeline(tmp_path, body)


async def test_child_success_is_the_node_success(tmp_path: Path) -> None:
    marker = tmp_path / "child-ran"
    (tmp_path / "children").mkdir()
    write(tmp_path / "children", CHILD_OK % tool("work", f"echo $ATTRACTOR_RUN_ID > {marker}"),
          "child.dot")
    root = tmp_path / "logs"
    record = await run(_parent(tmp_path, 'subgraph.dotfile="children/child.dot", '
                                         'subgraph.pass_context="who, missing"'), root)
    assert record.status == "success"
    child_root = root / "sub" / "child"
    child_final = final(child_root)
    assert child_final["status"] == "success"
    assert child_final["run_id"] == f"{record.run_id}.sub"
    assert marker.read_text().strip() == f"{record.run_id}.sub"
    assert (child_root / "work" / "status.json").is_file()
    ctx = read_json(child_root / "checkpoint.json")["context"]
    assert ctx["who"] == "parent" and "missing" not in ctx
    forwarded = [e["child_event"]["event"] for e in events(root, "child_run_event")]
    assert "stage_attempt_start" in forwarded and forwarded[-1] == "run_completed"


async def test_child_failure_fails_the_node_with_the_child_reason(tmp_path: Path) -> None:
    write(tmp_path, CHILD_OK % tool("work", "echo compile error >&2; exit 2"), "child.dot")
    root = tmp_path / "logs"
    record = await run(_parent(tmp_path, 'subgraph.dotfile="child.dot"'), root)
    assert record.status == "fail"
    assert record.failed_node_id == f"{record.run_id}.sub:work"
    assert record.failure_reason == f"child pipeline {record.run_id}.sub fail: compile error"
    assert final(root / "sub" / "child")["status"] == "fail"


async def test_invalid_child_fails_structural_with_the_parse_message(tmp_path: Path) -> None:
    write(tmp_path, "digraph Child { start [shape=Mdiamond\n", "child.dot")
    record = await run(_parent(tmp_path, 'subgraph.dotfile="child.dot"'), tmp_path / "logs")
    assert record.status == "fail"
    assert record.failure_class == "structural"
    assert "child pipeline child.dot is invalid" in record.failure_reason
    assert f"{tmp_path / 'child.dot'}:" in record.failure_reason  # names file and line


async def test_child_failing_validation_names_the_rule(tmp_path: Path) -> None:
    write(tmp_path, "digraph Child { start [shape=Mdiamond]\n a [shape=box] start -> a }\n",
          "child.dot")
    record = await run(_parent(tmp_path, 'subgraph.dotfile="child.dot"'), tmp_path / "logs")
    assert record.failure_class == "structural"
    assert "terminal_node" in record.failure_reason

