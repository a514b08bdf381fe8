"""Crash harness for git isolation: SIGKILL at random moments (commits included), then resume.

Eight stages each append their name to ``log.txt`` in the repository. Each
trial kills ``attractor run`` (and sometimes its first resume) at a random
moment spread over the run's length, then resumes until the run ends. With
the worktree reset to the checkpoint's commit on every resume, the run
branch must end with each line exactly once, whatever a kill interrupted
(a ``git add``, a ``commit-tree``, an ``update-ref``, a checkpoint write).
The seed is printed; replay with ``ATTRACTOR_GIT_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from tests.git.support import cli, dot, git, logs, make_repo, read_json, start_cli

NODES = tuple(f"n{i}" for i in range(1, 9))
TRIALS = 12
PIPELINE = "\n".join([
    *(f'  {n} [shape=parallelogram, tool_command="echo {n} >> log.txt; sleep 0.02"]'
      for n in NODES),
    "  " + " -> ".join(["start", *NODES, "exit"]),
])

pytestmark = pytest.mark.slow


def _kill_after(proc: subprocess.Popen[str], delay: float) -> bool:
    """SIGKILL the run's process group ``delay`` seconds after it started (False if it ended
    first)."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return True


def test_random_kills_during_commits_never_leave_a_run_that_resume_cannot_finish(tmp_path):
    seed = int(os.environ.get("ATTRACTOR_GIT_CRASH_SEED", random.randrange(2**32)))
    print(f"ATTRACTOR_GIT_CRASH_SEED={seed}")
    rng = random.Random(seed)
    repo = make_repo(tmp_path)
    pipeline = dot(tmp_path, PIPELINE)
    t0 = time.monotonic()
    assert cli("run", pipeline, "--run-id", "calibrate", "--quiet", cwd=repo).returncode == 0
    span = time.monotonic() - t0
    kills = 0
    for trial in range(TRIALS):
        run_id = f"t{trial}"
        delay = span * (trial + rng.random()) / TRIALS  # stratified over the run
        killed = _kill_after(start_cli("run", pipeline, "--run-id", run_id, cwd=repo), delay)
        kills += killed
        root = logs(repo, run_id)
        if killed and not (root / "manifest.json").exists():
            continue  # killed before the run existed: nothing to resume
        if killed and rng.random() < 0.3:  # kill the first resume too
            kills += _kill_after(start_cli("resume", "--logs-root", root, cwd=repo),
                                 span * rng.random())
        if not (root / "final.json").exists() or read_json(root / "final.json")["status"] \
                != "success":
            result = cli("resume", "--logs-root", root, "--quiet", cwd=repo)
            assert result.returncode == 0, (seed, trial, result.stdout, result.stderr)
        branch = f"attractor/run/{run_id}"
        assert git(repo, "show", f"{branch}:log.txt").split() == list(NODES), (seed, trial)
        assert git(root / "worktree", "status", "--porcelain") == "", (seed, trial)
    assert kills >= TRIALS // 2, f"only {kills} kills landed (seed {seed})"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(repo, "fsck", "--no-progress", "--no-dangling") == ""
