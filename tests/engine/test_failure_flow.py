"""A failure never walks on into the next stage (docs/spec-deltas.md §1.1), pipelines
may have several exits (§1.2), and ``attractor validate`` warns where a failure stops
the run. Everything through the CLI and the run's artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import CORPUS

from .support import attractor, edges_taken, events, final, pipeline, visited, write

BUILD_DEPLOY = """
  build [shape=parallelogram, tool_command="exit 1"]
  deploy [shape=parallelogram, tool_command="touch deployed"]
  start -> build -> deploy -> exit"""


def _run(tmp_path: Path, dot: Path, *extra: str) -> tuple[int, str, Path]:
    root = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", root, "--workdir", tmp_path, *extra,
                       cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr, root


def test_a_failed_tool_does_not_run_the_next_stage(tmp_path: Path) -> None:
    code, _, root = _run(tmp_path, pipeline(tmp_path, BUILD_DEPLOY))
    assert code == 1
    data = final(root)
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert (data["failed_node_id"], data["failure_reason"]) == ("build", "exit code 1")
    assert "deploy" not in visited(root)
    assert not (tmp_path / "deployed").exists()
    assert data["exit_node"] == ""
    assert events(root)[-1]["event"] == "run_failed"


def test_a_stage_timeout_does_not_run_the_next_stage(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  build [shape=parallelogram, tool_command="sleep 30", timeout="300ms"]
  deploy [shape=parallelogram, tool_command="touch deployed"]
  start -> build -> deploy -> exit""")
    code, _, root = _run(tmp_path, dot)
    assert code == 1
    data = final(root)
    assert (data["status"], data["failed_node_id"]) == ("fail", "build")
    assert data["failure_reason"].startswith("stage timeout after")
    assert "deploy" not in visited(root)


def test_a_failure_walks_into_a_diamond_but_not_into_a_stage(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  build [shape=parallelogram, tool_command="exit 1"]
  deploy [shape=parallelogram, tool_command="true"]
  gate [shape=diamond]
  fix [shape=parallelogram, tool_command="true"]
  start -> build
  build -> deploy [weight=5]
  build -> gate
  gate -> fix [condition="outcome=fail"]
  gate -> exit [condition="outcome=success"]
  deploy -> exit
  fix -> exit""")
    code, _, root = _run(tmp_path, dot)
    assert code == 0
    assert visited(root) == ["start", "build", "gate", "fix", "exit"]
    assert ("build", "gate", "weight", 4) in edges_taken(root)
    assert final(root)["exit_node"] == "exit"


def test_a_failure_with_a_retry_target_goes_there_not_down_the_edge(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
  build [shape=box, sim.outcome="fail,success", retry_target=fix]
  fix [shape=box]
  deploy [shape=box]
  start -> build -> deploy -> exit
  fix -> build""")
    code, _, root = _run(tmp_path, dot)
    assert code == 0
    assert visited(root) == ["start", "build", "fix", "build", "deploy", "exit"]
    assert ("build", "fix", "retry_target", 0) in edges_taken(root)


# -- several exits -----------------------------------------------------------------
TWO_EXITS = """digraph P {{
  graph [goal="two exits"]
  start [shape=Mdiamond]
  check [shape=parallelogram, tool_command="{command}"]
  done [shape={shape}, label="Done"]
  failed [shape=Msquare, label="Failed"]
  start -> check
  check -> done [condition="outcome=success"]
  check -> failed [condition="outcome=fail"]
}}
"""


@pytest.mark.parametrize("shape", ["Msquare", "doublecircle"])
def test_a_run_names_the_success_exit_it_reached(tmp_path: Path, shape: str) -> None:
    dot = write(tmp_path, TWO_EXITS.format(command="true", shape=shape))
    assert attractor("validate", dot).returncode == 0
    code, _, root = _run(tmp_path, dot)
    assert code == 0
    data = final(root)
    assert (data["status"], data["exit_node"]) == ("success", "done")
    assert visited(root)[-1] == "done"


def test_a_failure_exit_ends_the_run_fail_with_the_stage_reason(tmp_path: Path) -> None:
    dot = write(tmp_path, TWO_EXITS.format(command="echo broken >&2; exit 3", shape="Msquare"))
    code, out, root = _run(tmp_path, dot)
    assert code == 1
    assert "fail (stage_failed) at check: broken" in out
    data = final(root)
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert (data["exit_node"], data["failed_node_id"]) == ("failed", "check")
    assert data["failure_reason"] == "broken"
    status = attractor("status", "--logs-root", root)
    assert "at node check" in status.stdout and "exit node: failed" in status.stdout


@pytest.mark.skipif(not CORPUS.is_dir(), reason="kilroy corpus not present")
@pytest.mark.parametrize("name", ["demo_tmux-agent-test_failure-routing.dot",
                                  "demo_tmux-agent-test_multi-node.dot"])
def test_kilroy_pipelines_with_two_exits_are_accepted(name: str) -> None:
    result = attractor("validate", CORPUS / name)
    assert result.returncode == 0, result.stdout
    assert "terminal_node" not in result.stdout


def test_a_pipeline_without_an_exit_is_still_refused(tmp_path: Path) -> None:
    dot = write(tmp_path, "digraph P { start [shape=Mdiamond]\n a [shape=box]\n start -> a }\n")
    result = attractor("validate", dot)
    assert result.returncode == 1
    assert "error terminal_node: the pipeline has no exit node" in result.stdout


# -- the lint -------------------------------------------------------------------------
def test_validate_warns_where_a_failure_stops_the_run(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, BUILD_DEPLOY)
    result = attractor("validate", dot)
    assert result.returncode == 0
    assert (f"{dot}:6: warning failure_route: a failure of build stops the run here; "
            'add condition="outcome=fail" to route it') in result.stdout
    # deploy's only way out is the exit: the run ends there either way.
    assert "a failure of deploy" not in result.stdout


@pytest.mark.parametrize("routed", [
    'build -> fix [condition="outcome=fail"]',
    'build -> fix [condition="outcome!=success"]',
    'build -> gate\n  gate -> fix [condition="outcome=fail"]\n  gate -> deploy',
    "build [retry_target=fix]",
    'build -> exit [condition="outcome=fail"]',
])
def test_no_warning_once_the_failure_is_routed(tmp_path: Path, routed: str) -> None:
    dot = pipeline(tmp_path, BUILD_DEPLOY + f"""
  fix [shape=parallelogram, tool_command="true"]
  gate [shape=diamond]
  fix -> exit
  start -> gate
  {routed}""")
    result = attractor("validate", dot)
    assert "failure_route" not in result.stdout, result.stdout


def test_a_success_only_condition_does_not_count_as_a_route(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, BUILD_DEPLOY + """
  other [shape=box]
  build -> other [condition="outcome=success"]
  other -> exit""")
    assert "a failure of build stops the run here" in attractor("validate", dot).stdout


def test_a_diamond_without_conditions_is_reported(tmp_path: Path) -> None:
    """Labels are not conditions: kilroy pipelines label a diamond's exits success/fail."""
    dot = write(tmp_path, TWO_EXITS.format(command="true", shape="Msquare").replace(
        '''  check -> done [condition="outcome=success"]
  check -> failed [condition="outcome=fail"]''', '''  route [shape=diamond]
  check -> route
  route -> done [label="success"]
  route -> failed [label="fail"]'''))
    result = attractor("validate", dot)
    assert result.returncode == 0
    assert ("warning unrouted_diamond: diamond route has no condition on its edges, so it "
            "does not route on the outcome: unless the stage before it names a preferred "
            "label it always goes to done") in result.stdout
    fixed = write(tmp_path, dot.read_text().replace('[label="success"]',
                                                    '[condition="outcome=success"]'),
                  "fixed.dot")
    assert "unrouted_diamond" not in attractor("validate", fixed).stdout
