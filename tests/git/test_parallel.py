"""Parallel branches under git isolation: one worktree and branch each, the winner merged."""

from __future__ import annotations

from tests.git.support import cli, commits, dot, events, files_at, git, logs, make_repo, read_json


def _fan_out(a: str, b: str) -> str:
    return f"""
  par [shape=component]
  fanin [shape=tripleoctagon]
  a [shape=parallelogram, tool_command="{a}"]
  b [shape=parallelogram, tool_command="{b}"]
  after [shape=parallelogram, tool_command="ls > listing.txt"]
  start -> par
  par -> a -> fanin
  par -> b -> fanin
  fanin -> after [condition="outcome=success"]
  after -> exit
"""


def test_branches_never_see_each_others_edits_and_the_winner_is_merged(tmp_path):
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    # Each branch waits for the other to have written its file, then checks it cannot see it.
    a = ("echo a > a-only.txt; touch $ATTRACTOR_LOGS_ROOT/a-wrote; "
         "while [ ! -e $ATTRACTOR_LOGS_ROOT/b-wrote ]; do sleep 0.02; done; test ! -e b-only.txt")
    b = ("echo b > b-only.txt; touch $ATTRACTOR_LOGS_ROOT/b-wrote; "
         "while [ ! -e $ATTRACTOR_LOGS_ROOT/a-wrote ]; do sleep 0.02; done; test ! -e a-only.txt")
    result = cli("run", dot(tmp_path, _fan_out(a, b)), "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    root = logs(repo, "r1")
    run_branch = "attractor/run/r1"
    # The heuristic picks branch a (tie broken by key); its commit is fast-forwarded in.
    assert files_at(repo, run_branch) == {"a.txt", "a-only.txt", "listing.txt"}
    assert git(repo, "show", f"{run_branch}:listing.txt").split() == ["a-only.txt", "a.txt", "listing.txt"]
    assert commits(repo, run_branch, head) == ["attractor(r1): a (success)",
                                                "attractor(r1): after (success)"]
    merged = events(root, "branch_merged")
    assert [(e["branch_key"], e["fast_forward"]) for e in merged] == [("a", True)]
    # Both branches stay as refs; their worktrees are gone.
    refs = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/attractor/branch/r1")
    assert len(refs.splitlines()) == 2
    loser = next(r for r in refs.splitlines() if r.endswith("-b"))
    assert "b-only.txt" in files_at(repo, loser)
    worktrees = git(repo, "worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 2  # the checkout and the run's worktree
    opened = events(root, "branch_workspace_opened")
    assert {e["base_sha"] for e in opened} == {head}
    rows = read_json(root / "par" / "parallel_results.json")["results"]
    assert {r["branch_key"]: r["workspace"]["ref"] for r in rows} == {
        "a": next(r for r in refs.splitlines() if r.endswith("-a")), "b": loser}
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_merge_conflict_fails_the_fan_in_naming_the_files(tmp_path):
    repo = make_repo(tmp_path)
    # Branch a also writes into the run's own worktree (escaping its isolation), so the
    # parallel stage's commit and the winner both add shared.txt, differently.
    a = "echo from-branch > shared.txt; echo from-main > $ATTRACTOR_LOGS_ROOT/worktree/shared.txt"
    b = "exit 1"
    result = cli("run", dot(tmp_path, _fan_out(a, b)), "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    root = logs(repo, "r1")
    final = read_json(root / "final.json")
    assert final["failed_node_id"] == "fanin"
    assert final["failure_class"] == "deterministic"
    assert "shared.txt" in final["failure_reason"] and "conflicts" in final["failure_reason"]
    conflict = events(root, "branch_merge_conflict")
    assert [(e["branch_key"], e["files"]) for e in conflict] == [("a", ["shared.txt"])]
    # The merge was aborted: the run's worktree is clean at its last commit.
    worktree = root / "worktree"
    assert git(worktree, "status", "--porcelain") == ""
    assert (worktree / "shared.txt").read_text() == "from-main\n"


def test_the_winner_is_merged_with_a_merge_commit_when_the_lane_moved_on(tmp_path):
    repo = make_repo(tmp_path)
    a = "echo A > mine.txt; echo P > $ATTRACTOR_LOGS_ROOT/worktree/other.txt"
    result = cli("run", dot(tmp_path, _fan_out(a, "exit 1")), "--run-id", "r1", "--quiet",
                 cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = events(logs(repo, "r1"), "branch_merged")
    assert [(e["branch_key"], e["fast_forward"]) for e in merged] == [("a", False)]
    merge = merged[0]["sha"]
    assert len(git(repo, "rev-list", "--parents", "-n", "1", merge).split()) == 3
    assert "merges branch a" in git(repo, "log", "-1", "--format=%s", merge)
    assert {"mine.txt", "other.txt"} <= files_at(repo, "attractor/run/r1")


def test_a_branch_canceled_by_early_termination_leaves_no_worktree(tmp_path):
    repo = make_repo(tmp_path)
    body = _fan_out("echo a > a-only.txt", "echo b > b-only.txt; sleep 30").replace(
        "par [shape=component]", 'par [shape=component, join_policy="first_success"]')
    result = cli("run", dot(tmp_path, body), "--run-id", "r1", "--quiet", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    root = logs(repo, "r1")
    rows = {r["branch_key"]: r for r in read_json(root / "par" / "parallel_results.json")["results"]}
    assert rows["b"]["status"] == "canceled"
    refs = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/attractor/branch/r1")
    assert len(refs.splitlines()) == 2  # the canceled branch's ref stays too
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2
    assert "a-only.txt" in files_at(repo, "attractor/run/r1")
