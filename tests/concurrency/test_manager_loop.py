"""The manager loop (spec §4.11, ``shape=house``) supervising a real child pipeline:
observe feeds child telemetry to the stop condition, steer reaches the child's next
stage, and the child never outlives the loop."""

from __future__ import annotations

from pathlib import Path

from tests.concurrency.support import context, gone, pids_in, sleeper, tool
from tests.engine.support import events, final, pipeline, read_json, run, write


def _child(tmp_path: Path, lines: list[str], chain: str) -> None:
    text = "\n".join(["digraph Child {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
                      *lines, f"  {chain}", "}"])
    write(tmp_path, text + "\n", "child.dot")


def _manager(tmp_path: Path, attrs: str, graph_attrs: str = "") -> Path:
    body = f"""
  graph [{graph_attrs or 'label="m"'}]
  mgr [shape=house, manager.poll_interval="50ms", {attrs}]
  start -> mgr -> exit
"""
    return pipeline(tmp_path, body)


async def test_stop_condition_sees_the_child_active_stage(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    _child(tmp_path, [tool("s1", "sleep 0.1"), sleeper("s3", pids)],
           "start -> s1 -> s3 -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(tmp_path, 'stack.child_dotfile="child.dot", '
                                          'manager.stop_condition="stack.child.active_stage=s3"'),
                       root)
    assert record.status == "success"
    assert await gone(pids_in(pids))  # the child's running tool was stopped
    assert final(root / "mgr" / "child")["status"] == "canceled"
    ctx = context(root)
    assert ctx["stack.child.status"] == "canceled"
    assert ctx["context.stack.child.status"] == "canceled"
    assert ctx["stack.child.completed_nodes"] == ["start", "s1"]
    status = read_json(root / "mgr" / "status.json")
    assert "stop condition satisfied" in status["notes"]


async def test_stop_condition_on_a_completed_child_node(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    _child(tmp_path, [tool("build", "sleep 0.1"), sleeper("deploy", pids)],
           "start -> build -> deploy -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(
        tmp_path, 'stack.child_dotfile="child.dot", '
                  'manager.stop_condition="context.stack.child.node.build.outcome=success"'),
        root)
    assert record.status == "success"
    assert await gone(pids_in(pids))
    assert context(root)["stack.child.node.build.outcome"] == "success"


async def test_child_completion_ends_the_loop_with_success(tmp_path: Path) -> None:
    _child(tmp_path, [tool("a", "true"), tool("b", "true")], "start -> a -> b -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(tmp_path, 'label="m"',
                                graph_attrs='stack.child_dotfile="child.dot"'), root)
    assert record.status == "success"
    ctx = context(root)
    assert ctx["stack.child.status"] == "completed"
    assert ctx["stack.child.outcome"] == "success"
    assert ctx["stack.child.completed_nodes"] == ["start", "a", "b", "exit"]
    finished = events(root, "manager_loop_finished")
    assert [(e["status"], e["node_id"]) for e in finished] == [("success", "mgr")]


async def test_child_failure_fails_the_manager_with_the_child_reason(tmp_path: Path) -> None:
    _child(tmp_path, [tool("a", "echo tests failed >&2; exit 1")], "start -> a -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(tmp_path, 'stack.child_dotfile="child.dot"'), root)
    assert record.status == "fail"
    assert record.failure_reason.endswith("tests failed")
    assert record.failed_node_id == f"{record.run_id}.mgr:a"
    assert context(root)["stack.child.status"] == "failed"


async def test_steer_reaches_the_child_next_stage(tmp_path: Path) -> None:
    got = tmp_path / "got"
    reader = (f'if [ -f "$ATTRACTOR_STAGE_DIR/steer.md" ]; then '
              f'echo "$ATTRACTOR_NODE_ID:$(cat $ATTRACTOR_STAGE_DIR/steer.md)" >> {got}; fi')
    _child(tmp_path, [tool("t1", "sleep 0.3"), tool("t2", reader)],
           "start -> t1 -> t2 -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(tmp_path, 'stack.child_dotfile="child.dot", '
                                          'manager.actions="observe,steer,wait", '
                                          'manager.steer_prompt="focus on tests"'), root)
    assert record.status == "success"
    lines = got.read_text().splitlines()
    assert lines and lines[0].startswith("t2:focus on tests")  # the stage's process read it
    child_ctx = read_json(root / "mgr" / "child" / "checkpoint.json")["context"]
    assert "focus on tests" in child_ctx["stack.steer"]
    assert events(root, "manager_steer")


async def test_steer_cooldown_limits_interventions(tmp_path: Path) -> None:
    _child(tmp_path, [tool("t1", "sleep 0.3")], "start -> t1 -> exit")
    root = tmp_path / "logs"
    await run(_manager(tmp_path, 'stack.child_dotfile="child.dot", '
                                 'manager.actions="observe,steer,wait", '
                                 'manager.steer_prompt="go", manager.steer_cooldown="1h"'), root)
    assert len(events(root, "manager_steer")) == 1
    assert len(events(root, "manager_loop_cycle")) > 1
    steered = sorted(p.parent.name for p in (root / "mgr" / "child").glob("*/steer.md"))
    assert len(steered) == 1


async def test_max_cycles_fails_and_stops_the_child(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    _child(tmp_path, [sleeper("forever", pids)], "start -> forever -> exit")
    root = tmp_path / "logs"
    record = await run(_manager(tmp_path, 'stack.child_dotfile="child.dot", '
                                          'manager.max_cycles=3, manager.poll_interval="20ms"'),
                       root)
    assert record.status == "fail"
    assert record.failure_reason.startswith("manager loop: max cycles (3) reached")
    assert [e["cycle"] for e in events(root, "manager_loop_cycle")] == [1, 2, 3]
    assert await gone(pids_in(pids))
    assert final(root / "mgr" / "child")["status"] == "canceled"

