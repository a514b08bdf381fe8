"""Resuming an isolated run: back to the checkpoint's commit, from the logs root or from the
run branch alone; a kill in the middle of a commit is repaired; ``attractor gc``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.git.support import (
    cli,
    commits,
    dot,
    events,
    git,
    kill_when,
    logs,
    make_repo,
    read_json,
    start_cli,
)


def _interrupted_run(tmp_path: Path, repo: Path) -> Path:
    """A run killed while stage ``two`` is in flight, after it changed the worktree.

    ``two`` refuses to start in a worktree holding its own leftovers, and hangs only the
    first time; ``one`` and ``three`` count their executions outside the repository.
    """
    marks = tmp_path / "marks"
    marks.mkdir()
    body = f"""
  one [shape=parallelogram, tool_command="echo run >> {marks}/one-runs; echo one > one.txt"]
  two [shape=parallelogram, tool_command="test ! -e junk.txt && echo mod >> a.txt && echo j > junk.txt && if [ ! -e {marks}/hung ]; then touch {marks}/hung; sleep 60; fi"]
  three [shape=parallelogram, tool_command="echo run >> {marks}/three-runs; echo three > three.txt"]
  start -> one -> two -> three -> exit
"""
    proc = start_cli("run", dot(tmp_path, body), "--run-id", "r1", cwd=repo)
    kill_when(proc, marks / "hung")
    return marks


def _assert_finished_once_each(repo: Path, root: Path, marks: Path, head: str) -> None:
    assert read_json(root / "final.json")["status"] == "success"
    branch = "attractor/run/r1"
    assert commits(repo, branch, head) == ["attractor(r1): one (success)",
                                            "attractor(r1): two (success)",
                                            "attractor(r1): three (success)"]
    assert git(repo, "show", f"{branch}:a.txt") == "base\nmod"  # the killed attempt's edit is gone
    assert (marks / "one-runs").read_text() == "run\n"
    assert (marks / "three-runs").read_text() == "run\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_resume_resets_the_worktree_to_the_checkpoint_commit(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    marks = _interrupted_run(tmp_path, repo)
    root = logs(repo, "r1")
    worktree = root / "worktree"
    assert (worktree / "junk.txt").exists() and "mod" in (worktree / "a.txt").read_text()
    status = json.loads(cli("status", "--logs-root", root, "--json", cwd=repo).stdout)
    assert status["state"] == "interrupted"
    checkpoint_sha = status["workspace"]["sha"]
    assert checkpoint_sha == git(repo, "rev-parse", "attractor/run/r1")
    result = cli("resume", "--logs-root", root, "--quiet", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_finished_once_each(repo, root, marks, head)
    ready = events(root, "git_workspace_ready")
    assert [(e["resumed"], e["head_sha"]) for e in ready][-1] == (True, checkpoint_sha)


def test_a_kill_in_the_middle_of_a_commit_is_repaired_by_resume(tmp_path):
    """What a SIGKILL inside ``git add`` / after ``update-ref`` leaves: a stale index.lock in
    the worktree's git dir, and the branch moved past the checkpoint by a commit whose
    checkpoint was never written."""
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    marks = _interrupted_run(tmp_path, repo)
    root = logs(repo, "r1")
    worktree = root / "worktree"
    gitdir = Path((worktree / ".git").read_text().split("gitdir: ")[1].strip())
    git(worktree, "add", "-A")
    tree = git(worktree, "write-tree")
    half = subprocess.run(["git", "commit-tree", tree, "-p", "HEAD", "-m", "half-made"],
                          cwd=worktree, capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-ref", "refs/heads/attractor/run/r1", half)
    (gitdir / "index.lock").write_text("")
    assert subprocess.run(["git", "add", "-A"], cwd=worktree, capture_output=True,
                          check=False).returncode != 0  # git is stuck until the lock goes
    result = cli("resume", "--logs-root", root, "--quiet", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (gitdir / "index.lock").exists()
    _assert_finished_once_each(repo, root, marks, head)


def test_resume_from_the_run_branch_alone_when_the_logs_root_is_lost(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    marks = _interrupted_run(tmp_path, repo)
    root = logs(repo, "r1")
    shutil.rmtree(root)
    result = cli("resume", "--run-branch", "attractor/run/r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_finished_once_each(repo, root, marks, head)
    assert read_json(root / "final.json")["completed_nodes"][:2] == ["one", "two"]


def test_run_branch_resume_explains_what_is_missing(tmp_path):
    repo = make_repo(tmp_path)
    result = cli("resume", "--run-branch", "attractor/run/nope", cwd=repo)
    assert result.returncode == 2
    assert "attractor/run/nope" in result.stderr and "Traceback" not in result.stderr
    assert cli("resume", "--run-branch", "main", cwd=repo).returncode == 2
    missing = cli("resume", cwd=repo)
    assert missing.returncode == 2 and "--logs-root" in missing.stderr


def test_gc_removes_the_worktrees_of_finished_runs_only(tmp_path):
    repo = make_repo(tmp_path)
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="echo x > x.txt"]\n  start -> t -> exit')
    assert cli("run", pipeline, "--run-id", "done", "--quiet", cwd=repo).returncode == 0
    _interrupted_run(tmp_path, repo)  # run r1: killed, resumable
    finished, interrupted = logs(repo, "done") / "worktree", logs(repo, "r1") / "worktree"
    assert finished.exists() and interrupted.exists()
    dry = cli("gc", "--dry-run", cwd=repo)
    assert dry.returncode == 0 and str(finished) in dry.stdout and finished.exists()
    result = cli("gc", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert str(finished) in result.stdout and str(interrupted) not in result.stdout
    assert not finished.exists() and interrupted.exists()
    listing = git(repo, "worktree", "list", "--porcelain")
    assert str(finished) not in listing and str(interrupted) in listing
    assert git(repo, "rev-parse", "--verify", "attractor/run/done")  # the branch stays


def test_resume_refuses_when_the_run_branch_is_gone(tmp_path):
    repo = make_repo(tmp_path)
    _interrupted_run(tmp_path, repo)
    root = logs(repo, "r1")
    git(repo, "worktree", "remove", "--force", str(root / "worktree"))
    git(repo, "branch", "-D", "attractor/run/r1")
    result = cli("resume", "--logs-root", root, cwd=repo)
    assert result.returncode == 2
    assert "attractor/run/r1 is gone" in result.stderr and "Traceback" not in result.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_pushed_run_resumes_in_another_clone_from_its_branch(tmp_path):
    repo = make_repo(tmp_path)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    marks = tmp_path / "marks"
    marks.mkdir()
    body = f"""
  one [shape=parallelogram, tool_command="echo one > one.txt"]
  gate [shape=parallelogram, tool_command="test -e {marks}/go"]
  two [shape=parallelogram, tool_command="echo two > two.txt"]
  start -> one -> gate
  gate -> two [condition="outcome=success"]
  two -> exit
"""
    pipeline = dot(tmp_path, body)
    first = cli("run", pipeline, "--run-id", "r1", "--push", remote, "--quiet", cwd=repo)
    assert first.returncode == 1  # gate failed: the run ended, pushed
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    git(clone, "fetch", "-q", "origin", "attractor/run/r1:attractor/run/r1",
        "refs/attractor/runs/*:refs/attractor/runs/*")
    (marks / "go").touch()
    shutil.rmtree(logs(repo, "r1"))
    # The failed run cannot be resumed where it ran; a fresh logs root in the clone resumes
    # from the last committed stage (one) and goes on.
    result = cli("resume", "--run-branch", "attractor/run/r1", "--quiet", cwd=clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "two.txt" in git(clone, "ls-tree", "-r", "--name-only", "attractor/run/r1")
    assert read_json(logs(clone, "r1") / "final.json")["status"] == "success"
    assert not logs(repo, "r1").exists()
