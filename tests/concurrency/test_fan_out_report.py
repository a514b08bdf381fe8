"""A fan-out with failed branches says so: final.json ``fan_outs``, the run summary and
``attractor status`` name the branches, their reasons and the join policy's verdict,
even when the policy let the run go on."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.engine.support import attractor, final, pipeline, start_attractor, wait_for_file

from .support import tool

FOUR = """
  par [shape=component%s]
%s
%s
%s
%s
  join [shape=tripleoctagon]
  start -> par
  par -> b1 -> join
  par -> b2 -> join
  par -> b3 -> join
  par -> b4 -> join
  join -> exit"""


def _four(tmp_path: Path, policy: str = "", b2: str = "echo compile error >&2; exit 2",
          b4: str = "true") -> Path:
    return pipeline(tmp_path, FOUR % (policy, tool("b1", "true"), tool("b2", b2),
                                      tool("b3", "true"), tool("b4", b4)))


def _run(tmp_path: Path, dot: Path) -> tuple[int, str, Path]:
    root = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", root, "--workdir", tmp_path, "--quiet",
                       timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, root


def test_a_run_that_went_on_past_a_failed_branch_names_it(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, _four(tmp_path))
    assert code == 0  # wait_all with some successes is partial_success: the run goes on
    data = final(root)
    assert data["status"] == "success"
    [fan] = data["fan_outs"]
    verdict = "wait_all: 3 of 4 branches succeeded; b2 failed: compile error"
    assert (fan["node_id"], fan["status"], fan["verdict"]) == ("par", "partial_success", verdict)
    assert fan["failed_branches"] == [{
        "branch_key": "b2", "status": "fail", "failure_reason": "compile error",
        "failure_class": "deterministic", "failed_node_id": "b2"}]
    assert f"fan-out par (partial_success): {verdict}" in out
    status = attractor("status", "--logs-root", root)
    assert "success, with 1 failed parallel branch" in status.stdout
    assert f"fan-out par (partial_success): {verdict}" in status.stdout
    as_json = json.loads(attractor("status", "--logs-root", root, "--json").stdout)
    assert as_json["fan_outs"][0]["failed_branches"][0]["branch_key"] == "b2"


def test_a_quorum_met_despite_failures_still_lists_them(tmp_path: Path) -> None:
    code, _, root = _run(tmp_path, _four(tmp_path, ", join_policy=quorum",
                                         b4="echo disk full >&2; exit 1"))
    assert code == 0
    [fan] = final(root)["fan_outs"]
    assert fan["status"] == "success"
    assert fan["verdict"] == ("quorum: 2 of 4 branches succeeded; b2 failed: compile error; "
                              "b4 failed: disk full")
    assert [b["branch_key"] for b in fan["failed_branches"]] == ["b2", "b4"]


def test_a_fan_out_that_failed_the_run_is_listed_with_its_verdict(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, _four(tmp_path, ", error_policy=fail_fast"))
    assert code == 1
    data = final(root)
    assert (data["status"], data["failed_node_id"]) == ("fail", "par")
    [fan] = data["fan_outs"]
    assert fan["status"] == "fail"
    assert fan["verdict"].startswith("wait_all, error_policy=fail_fast: ")
    assert "b2 failed: compile error" in fan["verdict"]
    assert "fan-out par (fail)" in out


def test_a_clean_fan_out_reports_nothing(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, _four(tmp_path, b2="true"))
    assert code == 0
    assert final(root)["fan_outs"] == []
    assert "fan-out" not in out
    status = attractor("status", "--logs-root", root).stdout
    assert "failed parallel branch" not in status and "fan-out" not in status


def test_failed_branches_are_still_named_after_a_resume(tmp_path: Path) -> None:
    """The fan-out's report lives in the checkpoint, so a run canceled after it and
    resumed to its end still names the failed branch."""
    body = (FOUR % ("", tool("b1", "true"), tool("b2", "echo compile error >&2; exit 2"),
                    tool("b3", "true"), tool("b4", "true"))).replace(
        "join -> exit", "join -> long -> exit")
    body += "\n" + tool("long", "if [ -f again ]; then exit 0; fi; touch again; "
                                "sleep 30 & echo $! > sleeper.pid; wait")
    dot = pipeline(tmp_path, body)
    root = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", root, "--workdir", tmp_path,
                           "--kill-grace", "100ms", "--quiet", cwd=tmp_path)
    wait_for_file(tmp_path / "sleeper.pid", proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 3
    result = attractor("resume", "--logs-root", root, "--quiet", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    [fan] = final(root)["fan_outs"]
    assert fan["verdict"] == "wait_all: 3 of 4 branches succeeded; b2 failed: compile error"
