"""A detached git-isolated run: ``run --detach`` names its branch and worktree, ``runs``
lists the branch, ``stop`` ends it ``stopped`` and ``resume`` finishes it on the same branch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.git.support import cli, commits, dot, git, logs, make_repo, read_json


def test_a_detached_isolated_run_names_its_branch_and_is_stopped_and_resumed(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    marks = tmp_path / "marks"
    marks.mkdir()
    body = f"""
  one [shape=parallelogram, tool_command="echo one > one.txt"]
  two [shape=parallelogram, tool_command="echo two > two.txt; test -e {marks}/go || (touch {marks}/waiting; sleep 60)"]
  start -> one -> two -> exit
"""
    done = cli("run", dot(tmp_path, body), "--detach", "--run-id", "r1", cwd=repo)
    assert done.returncode == 0, done.stderr
    shown = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    root = logs(repo, "r1")
    assert shown["run_branch"] == "attractor/run/r1"
    assert shown["worktree"] == str(root / "worktree") and Path(shown["worktree"]).is_dir()

    deadline = time.monotonic() + 60
    while not (marks / "waiting").exists():
        assert time.monotonic() < deadline, "stage two never started"
        time.sleep(0.02)
    listed = cli("runs", "--json", cwd=repo)
    assert listed.returncode == 0, listed.stderr
    (line,) = json.loads(listed.stdout)
    assert (line["state"], line["node"]) == ("running", "two")
    assert line["workspace"] == {"run_branch": "attractor/run/r1", "worktree": str(root / "worktree")}
    table = cli("runs", cwd=repo)
    assert "attractor/run/r1" in table.stdout.splitlines()[1]

    stopped = cli("stop", "--logs-root", root, cwd=repo)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    ended = read_json(root / "final.json")
    assert (ended["exit_path"], ended["failed_node_id"]) == ("stopped", "two")
    assert ended["workspace"]["run_branch"] == "attractor/run/r1"
    assert git(repo, "status", "--porcelain") == ""  # the user's checkout untouched

    (marks / "go").write_text("")
    resumed = cli("resume", "--logs-root", root, "--quiet", cwd=repo)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert commits(repo, "attractor/run/r1", head) == ["attractor(r1): one (success)",
                                                       "attractor(r1): two (success)"]
