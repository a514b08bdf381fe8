"""Git isolation costs, on a repository of 10,000 files.

1. Stage commit: what ``stage_completed`` adds to a stage that changed one
   small file (``git add -A``, ``write-tree``, ``commit-tree``,
   ``update-ref``), and to a stage that changed nothing (no commit).
2. Fan-out: a parallel node with 16 tool branches, each in its own worktree,
   run end to end through the CLI with isolation and with ``--no-git``; the
   difference divided by 16 is the cost per branch (worktree add, commit,
   worktree remove).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from attractor_plugins.git_isolation.workspace import GitWorkspace

FILES = 10_000
COMMITS = 30
BRANCHES = 16


def _make_repo(root: Path) -> Path:
    repo = root / "repo"
    for d in range(FILES // 100):
        folder = repo / f"dir{d:03d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"file{f:03d}.txt").write_text(f"{d} {f}\n" * 4)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "files"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


async def _stage_commits(repo: Path, logs: Path) -> tuple[list[float], list[float]]:
    ws = GitWorkspace(workdir=repo, logs_root=logs, run_id="bench", options={},
                      resume_from=None)
    await ws.start()
    stage_dir = logs / "stage"
    stage_dir.mkdir()
    changed, unchanged = [], []
    for i in range(COMMITS):
        (ws.workdir / "dir000" / "file000.txt").write_text(f"change {i}\n")
        for bucket in (changed, unchanged):
            t0 = time.perf_counter()
            await ws.stage_completed(node_id=f"n{i}", status="success", failure_class="",
                                     stage_dir=stage_dir, workdir=ws.workdir, branch_key="",
                                     emit=lambda e: None)
            bucket.append((time.perf_counter() - t0) * 1000)
    return changed, unchanged


def _fanout_dot(root: Path) -> Path:
    lines = ["digraph F {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]",
             f"  par [shape=component, max_parallel={BRANCHES}]",
             "  join [shape=tripleoctagon]", "  start -> par", "  join -> exit"]
    for i in range(BRANCHES):
        lines += [f'  b{i} [shape=parallelogram, tool_command="echo {i} > dir000/b{i}.txt"]',
                  f"  par -> b{i}", f"  b{i} -> join"]
    path = root / "fanout.dot"
    path.write_text("\n".join([*lines, "}"]) + "\n")
    return path


def _time_cli(repo: Path, dot: Path, run_id: str, *extra: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "attractor_core", "run", str(dot), "--run-id", run_id,
                    "--quiet", *extra], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = _make_repo(root)
        changed, unchanged = trio.run(_stage_commits, repo, root / "logs")
        print(f"stage commit, small change, {FILES} files: median "
              f"{statistics.median(changed):.1f} ms, best {min(changed):.1f} ms "
              f"({COMMITS} commits)")
        print(f"stage with no change (no commit): median {statistics.median(unchanged):.1f} ms,"
              f" best {min(unchanged):.1f} ms")
        dot = _fanout_dot(root)
        # Isolated first: the --no-git runs write into the checkout itself.
        isolated = min(_time_cli(repo, dot, f"git{i}") for i in range(2))
        plain = min(_time_cli(repo, dot, f"plain{i}", "--no-git",
                              "--logs-root", str(root / f"plain{i}")) for i in range(2))
        print(f"fan-out of {BRANCHES} branches: {isolated:.2f} s with worktrees, "
              f"{plain:.2f} s with --no-git; "
              f"{(isolated - plain) / BRANCHES * 1000:.0f} ms per branch")


if __name__ == "__main__":
    main()
