"""Helpers for the git isolation tests: real repositories in tmp_path, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(tmp_path: Path, name: str = "repo") -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test User")
    git(repo, "config", "user.email", "test@example.com")
    (repo / "a.txt").write_text("base\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def dot(tmp_path: Path, body: str, name: str = "p.dot") -> Path:
    path = tmp_path / name
    path.write_text("digraph P {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
                    f"{body}\n}}\n")
    return path


def cli(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "attractor_core", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_cli(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "attractor_core", *map(str, args)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def kill_when(proc: subprocess.Popen[str], marker: Path, timeout: float = 60) -> None:
    """SIGKILL the run's whole process group once ``marker`` exists."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, f"{marker} never appeared"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def logs(repo: Path, run_id: str) -> Path:
    return repo / ".attractor" / "runs" / run_id


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def events(root: Path, name: str) -> list[dict[str, Any]]:
    lines = (root / "progress.ndjson").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


def commits(repo: Path, rev: str, base: str) -> list[str]:
    """Subjects of ``base..rev``, oldest first."""
    out = git(repo, "log", "--reverse", "--format=%s", f"{base}..{rev}")
    return out.splitlines() if out else []


def files_at(repo: Path, rev: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", rev).splitlines())
