"""The validation run of kilroy's rogue-fast pipeline in a throwaway git repository.

The repository holds the corpus-run workdir as its base commit. Every LLM stage runs the
scripted agent of :mod:`tests.corpus_agent` through the ``cli`` backend; the tool stages'
commands find fakes of cargo, rustup and wasm-pack first on ``PATH``, but the real git:
git isolation runs ``git`` from ``PATH`` too, and ``verify_artifacts`` diffs the run's
worktree with it. ``--git-empty-commits`` makes every completed stage a commit, so the run
branch's log is the stage sequence.

``python -m tests.git.rogue_gate [DIR]`` runs it once, killed with SIGKILL in the middle of
``implement`` and resumed, and prints the evidence that docs/release-gate.md records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from attrs import frozen

from tests.corpus import CORPUS
from tests.corpus_agent import AGENT, TOOLS, WORKDIR, agent_environment

ROGUE_FAST = CORPUS / "demo_rogue_rogue-fast.dot"
BASE_SUBJECT = "base: corpus-run workdir"
RUN_TIMEOUT_S = 300  # a loaded 2-core box; the run itself takes a couple of seconds

# Stands in for the agent at one stage, once: it starts the work (a file in the worktree),
# writes its pid to the marker and hangs there, so the run can be killed mid-stage.
HOLDING_AGENT = """#!/bin/sh
if [ "$ATTRACTOR_NODE_ID" = "$ROGUE_HOLD_NODE" ] && [ ! -e "$ROGUE_HOLD_MARKER" ]; then
    echo "half done" > "$ATTRACTOR_WORKDIR/half-done.txt"
    echo $$ > "$ROGUE_HOLD_MARKER.tmp" && mv "$ROGUE_HOLD_MARKER.tmp" "$ROGUE_HOLD_MARKER"
    exec sleep 600
fi
exec "$ROGUE_AGENT" "$@"
"""


@frozen
class Setup:
    """A throwaway repository and the environment a rogue-fast run needs in it."""

    repo: Path
    env: dict[str, str]
    marker: Path

    def logs(self, run_id: str) -> Path:
        return self.repo / ".attractor" / "runs" / run_id


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def prepare(root: Path, *, hold: str = "") -> Setup:
    """A repository under ``root`` with the workdir as its one commit on ``main``; with
    ``hold``, the agent hangs at that node's first call."""
    for sub in ("home", "plan", "state", "tools"):
        (root / sub).mkdir(parents=True)
    # Every fake but git: the run needs the real one.
    for tool in TOOLS.iterdir():
        if tool.name != "git":
            (root / "tools" / tool.name).symlink_to(tool)
    repo = root / "repo"
    subprocess.run(["cp", "-R", str(WORKDIR), str(repo)], check=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Gate User")
    git(repo, "config", "user.email", "gate@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", BASE_SUBJECT)
    agent = AGENT
    marker = root / "held.pid"
    if hold:
        agent = root / "holding_agent"
        agent.write_text(HOLDING_AGENT, encoding="utf-8")
        agent.chmod(0o755)
    env = agent_environment(root / "home", root / "plan", root / "state", tools=root / "tools",
                            agent=agent)
    env.update({"ROGUE_AGENT": str(AGENT), "ROGUE_HOLD_NODE": hold,
                "ROGUE_HOLD_MARKER": str(marker)})
    return Setup(repo, env, marker)


def run_command(setup: Setup, run_id: str) -> list[str]:
    return [sys.executable, "-m", "attractor_core", "run", str(ROGUE_FAST),
            "--workdir", str(setup.repo), "--run-id", run_id, "--backend", "cli",
            "--interviewer", "auto", "--git-empty-commits", "--quiet"]


def resume_command(setup: Setup, run_id: str) -> list[str]:
    return [sys.executable, "-m", "attractor_core", "resume", "--logs-root",
            str(setup.logs(run_id)), "--quiet"]


def run(setup: Setup, command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=setup.repo, env=setup.env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)


def run_killed_at_the_hold(setup: Setup, run_id: str) -> int:
    """Start the run, SIGKILL its process group once the held agent hangs; the agent's pid."""
    proc = subprocess.Popen(run_command(setup, run_id), cwd=setup.repo, env=setup.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not setup.marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before the hold")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the agent never reached the hold")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return int(setup.marker.read_text(encoding="utf-8"))


def final(setup: Setup, run_id: str) -> Any:
    return json.loads((setup.logs(run_id) / "final.json").read_text(encoding="utf-8"))


def branch_log(setup: Setup, run_id: str) -> list[str]:
    """Subjects of the run branch after the base commit, oldest first."""
    out = git(setup.repo, "log", "--reverse", "--format=%s", f"main..attractor/run/{run_id}")
    return out.splitlines() if out else []


def stage_subjects(run_id: str, final_json: Any) -> list[str]:
    """The subjects one commit per completed stage makes, in order (every stage of this
    scenario succeeds)."""
    return [f"attractor({run_id}): {node} (success)" for node in final_json["completed_nodes"]]


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="rogue-gate-"))
    run_id = "rogue-gate-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    setup = prepare(root, hold="implement")
    held = run_killed_at_the_hold(setup, run_id)
    print(f"killed with SIGKILL while agent pid {held} held 'implement'; branch log then:")
    for subject in branch_log(setup, run_id):
        print(f"  {subject}")
    resumed = run(setup, resume_command(setup, run_id))
    print(f"$ attractor resume --logs-root {setup.logs(run_id)}  -> exit {resumed.returncode}")
    done = final(setup, run_id)
    print(f"run id: {run_id}")
    print(f"final.json: status={done['status']} exit_path={done['exit_path']} "
          f"exit_node={done['exit_node']}")
    print(f"completed_nodes: {' '.join(done['completed_nodes'])}")
    print(f"$ git log --reverse --format=%s main..attractor/run/{run_id}")
    for subject in branch_log(setup, run_id):
        print(subject)
    matches = branch_log(setup, run_id) == stage_subjects(run_id, done)
    print(f"branch log equals the completed stages: {matches}")
    return 0 if resumed.returncode == 0 and done["status"] == "success" and matches else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
