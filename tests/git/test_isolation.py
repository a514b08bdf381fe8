"""Git run isolation through the CLI: run branch, worktree, one commit per stage."""

from __future__ import annotations

from tests.git.support import cli, commits, dot, events, files_at, git, logs, make_repo, read_json

STAGES = """
  one [shape=parallelogram, tool_command="echo one >> a.txt; echo $ATTRACTOR_WORKDIR > where.txt"]
  two [shape=parallelogram, tool_command="true"]
  three [shape=parallelogram, tool_command="mkdir -p src .attractor .ai/runs/r1 && echo x > src/x.txt && echo junk > .attractor/junk && echo '{}' > .ai/runs/r1/status.json && echo '{\\"status\\": \\"success\\"}' > status.json"]
  start -> one -> two -> three -> exit
"""


def test_a_run_in_a_repository_works_on_its_own_branch_and_leaves_the_checkout_alone(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    result = cli("run", dot(tmp_path, STAGES), "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stderr
    # The user's checkout: same HEAD, same files, nothing new in git status.
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert (repo / "a.txt").read_text() == "base\n"
    assert git(repo, "branch", "--show-current") == "main"
    # One commit per stage that changed something, in the documented format.
    branch = "attractor/run/r1"
    assert commits(repo, branch, head) == ["attractor(r1): one (success)",
                                            "attractor(r1): three (success)"]
    body = git(repo, "log", "-1", "--format=%B", f"{branch}~1")
    for trailer in ("Attractor-Node: one", "Attractor-Status: success", "Attractor-Attempt: 1",
                    "Attractor-Failure-Class: none", "Attractor-Stage-Dir: one"):
        assert trailer in body
    root = logs(repo, "r1")
    worktree = root / "worktree"
    assert git(repo, "show", f"{branch}:where.txt") == str(worktree)
    assert git(repo, "show", f"{branch}:a.txt") == "base\none"
    # Run files never land in a commit.
    assert files_at(repo, branch) == {"a.txt", "where.txt", "src/x.txt"}
    # final.json, the checkpoint and the events agree with git.
    final = read_json(root / "final.json")["workspace"]
    tip = git(repo, "rev-parse", branch)
    assert final["base_sha"] == head and final["run_branch"] == branch
    assert final["final_sha"] == tip
    assert "a.txt" in final["diff_stat"] and "src/x.txt" in final["diff_stat"]
    assert read_json(root / "checkpoint.json")["workspace"]["sha"] == tip
    committed = events(root, "stage_committed")
    assert [(e["node_id"], e["sha"]) for e in committed] == [
        ("one", git(repo, "rev-parse", f"{branch}~1")), ("three", tip)]
    status = cli("status", "--logs-root", root, "--json", cwd=repo)
    assert '"final_sha": "' + tip in status.stdout
    text = cli("status", "--logs-root", root, cwd=repo).stdout
    assert f"run_branch: {branch}" in text and f"final_sha: {tip}" in text
    assert "a.txt" in text.split("diff_stat:")[1]


def test_a_dirty_tree_is_refused_and_allow_dirty_snapshots_it_into_the_base(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("edited\n")
    (repo / "new.txt").write_text("untracked\n")
    before = git(repo, "status", "--porcelain", "--untracked-files=all")
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="cat a.txt new.txt > seen.txt"]\n  start -> t -> exit')
    refused = cli("run", pipeline, "--run-id", "r1", cwd=repo)
    assert refused.returncode == 2
    assert "uncommitted changes" in refused.stderr and "--allow-dirty" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not logs(repo, "r1").exists()
    assert git(repo, "branch", "--list", "attractor/*") == ""

    ran = cli("run", pipeline, "--run-id", "r2", "--allow-dirty", "--quiet", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == before
    base = read_json(logs(repo, "r2") / "final.json")["workspace"]["base_sha"]
    assert base != head and git(repo, "rev-parse", f"{base}^") == head
    assert git(repo, "show", "attractor/run/r2:seen.txt") == "edited\nuntracked"


def test_no_git_runs_in_the_workdir_itself(tmp_path):
    repo = make_repo(tmp_path)
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="echo x > out.txt"]\n  start -> t -> exit')
    result = cli("run", pipeline, "--run-id", "r1", "--no-git", "--logs-root", tmp_path / "l",
                 "--quiet", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "out.txt").exists()
    assert git(repo, "branch", "--list", "attractor/*") == ""
    assert read_json(tmp_path / "l" / "final.json")["workspace"] == {}


def test_empty_commits_only_when_asked_for(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="true"]\n  start -> t -> exit')
    assert cli("run", pipeline, "--run-id", "r1", "--quiet", cwd=repo).returncode == 0
    assert commits(repo, "attractor/run/r1", head) == []
    assert cli("run", pipeline, "--run-id", "r2", "--git-empty-commits", "--quiet",
               cwd=repo).returncode == 0
    assert commits(repo, "attractor/run/r2", head) == [
        "attractor(r2): start (success)", "attractor(r2): t (success)",
        "attractor(r2): exit (success)"]


def test_a_failed_stage_is_committed_with_its_status_and_class(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    pipeline = dot(tmp_path, '  t [shape=parallelogram, max_retries=0, tool_command="echo half > half.txt; exit 3"]\n  start -> t -> exit')
    assert cli("run", pipeline, "--run-id", "r1", "--quiet", cwd=repo).returncode == 1
    assert commits(repo, "attractor/run/r1", head) == ["attractor(r1): t (fail)"]
    body = git(repo, "log", "-1", "--format=%B", "attractor/run/r1")
    assert "Attractor-Failure-Class: deterministic" in body


def test_a_workdir_below_the_top_of_the_repository_maps_into_the_worktree(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "keep.txt").write_text("k\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "pkg")
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="pwd > here.txt; echo \'{\\"status\\": \\"success\\"}\' > status.json"]\n  start -> t -> exit')
    result = cli("run", pipeline, "--run-id", "r1", "--quiet", cwd=repo / "pkg")
    assert result.returncode == 0, result.stderr
    root = repo / "pkg" / ".attractor" / "runs" / "r1"
    assert git(repo, "show", "attractor/run/r1:pkg/here.txt") == str(root / "worktree" / "pkg")
    assert "pkg/status.json" not in files_at(repo, "attractor/run/r1")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_push_sends_the_run_branch_to_a_remote_and_reports_failure_without_failing(tmp_path):
    repo = make_repo(tmp_path)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="echo x > x.txt"]\n  start -> t -> exit')
    assert cli("run", pipeline, "--run-id", "r1", "--push", remote, "--quiet",
               cwd=repo).returncode == 0
    assert git(remote, "rev-parse", "attractor/run/r1") == git(repo, "rev-parse",
                                                               "attractor/run/r1")
    assert events(logs(repo, "r1"), "git_push_succeeded") == [
        {**events(logs(repo, "r1"), "git_push_succeeded")[0], "remote": str(remote),
         "branch": "attractor/run/r1"}]
    result = cli("run", pipeline, "--run-id", "r2", "--push", tmp_path / "missing.git",
                 "--quiet", cwd=repo)
    assert result.returncode == 0
    failed = events(logs(repo, "r2"), "git_push_failed")
    assert len(failed) == 1 and "missing.git" in failed[0]["error"]
    assert events(logs(repo, "r2"), "run_completed")


def test_a_stage_that_commits_on_its_own_is_built_upon(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    body = """
  one [shape=parallelogram, tool_command="echo a > agent.txt && git add agent.txt && git -c user.name=A -c user.email=a@a commit -q -m 'agent commit' && echo left > left.txt"]
  two [shape=parallelogram, tool_command="echo b > two.txt"]
  start -> one -> two -> exit
"""
    result = cli("run", dot(tmp_path, body), "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert commits(repo, "attractor/run/r1", head) == [
        "agent commit", "attractor(r1): one (success)", "attractor(r1): two (success)"]
    assert files_at(repo, "attractor/run/r1") == {"a.txt", "agent.txt", "left.txt", "two.txt"}
    assert events(logs(repo, "r1"), "git_commit_failed") == []


def test_run_directories_of_earlier_runs_in_the_checkout_are_not_uncommitted_changes(tmp_path):
    repo = make_repo(tmp_path)
    old = repo / ".attractor" / "runs" / "old"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")  # a run made with --no-git, before
    pipeline = dot(tmp_path, '  t [shape=parallelogram, tool_command="true"]\n  start -> t -> exit')
    result = cli("run", pipeline, "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
