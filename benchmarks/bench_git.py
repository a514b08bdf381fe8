"""Git isolation costs, on a repository of 10,000 files.

1. Stage commit: what ``stage_completed`` adds to a stage that changed one
   small file (``git add -A``, ``write-tree``, ``commit-tree``,
   ``update-ref``), and to a stage that changed nothing (no commit).
2. Fan-out: a parallel node with 16 tool branches, each in its own worktree,
   run end to end through the CLI with isolation and with ``--no-git``; the
   difference divided by 16 is the cost per branch (worktree add, commit,
   worktree remove).

``python -m benchmarks.bench_git --baseline DIR`` measures the stage commit of this checkout
and of the checkout DIR side by side, in alternating rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


# Times ``stage_completed`` after a one-line change and after no change, alternately, in a
# fresh interpreter: the plugin is imported from whatever tree PYTHONPATH names, so another
# checkout's plugin (``--baseline``) is measured by the very same code. Every changed stage
# must have made a commit holding the change and no run file.
WORKER = """
import json, subprocess, sys, time, trio
from pathlib import Path
from attractor_plugins.git_isolation.workspace import GitWorkspace

repo, logs, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

async def main():
    ws = GitWorkspace(workdir=repo, logs_root=logs, run_id=logs.name, options={},
                      resume_from=None)
    await ws.start()
    stage_dir = logs / "stage"
    stage_dir.mkdir()
    (ws.workdir / "status.json").write_text("{}")  # an agent's status file: never committed
    changed, unchanged = [], []
    for i in range(count):
        (ws.workdir / "dir000" / "file000.txt").write_text(f"change {i}\\n")
        for bucket in (changed, unchanged):
            before = ws.main.head
            t0 = time.perf_counter()
            await ws.stage_completed(node_id=f"n{i}", status="success", failure_class="",
                                     stage_dir=stage_dir, workdir=ws.workdir, branch_key="",
                                     emit=lambda e: None)
            bucket.append((time.perf_counter() - t0) * 1000)
            assert (ws.main.head != before) == (bucket is changed), "commit missing or extra"
        shown = subprocess.run(["git", "show", "HEAD:dir000/file000.txt"], cwd=ws.workdir,
                               capture_output=True, text=True, check=True).stdout
        assert shown == f"change {i}\\n", shown
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=ws.workdir,
                           capture_output=True, text=True, check=True).stdout.split()
    assert "status.json" not in files and len(files) == FILES
    print(json.dumps([changed, unchanged]))

FILES = int(sys.argv[4])
trio.run(main)
"""


def _stage_commits(repo: Path, logs: Path, count: int,
                   tree: Path | None = None) -> tuple[list[float], list[float]]:
    """``count`` stage commits in a new run on ``repo``, with this checkout's plugin or, given
    ``tree``, with the plugin of that checkout."""
    env = dict(os.environ)
    if tree is not None:
        paths = [str(tree), str(tree / "plugins"), str(tree / "handlers")]
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", WORKER, str(repo), str(logs), str(count),
                           str(FILES)], env=env, check=True, capture_output=True, text=True)
    changed, unchanged = json.loads(done.stdout)
    return changed, unchanged


def _summary(label: str, times: list[float]) -> str:
    return (f"{label}: median {statistics.median(times):.1f} ms, best {min(times):.1f} ms "
            f"({len(times)})")


def _side_by_side(repo: Path, root: Path, baseline: Path, rounds: int) -> None:
    """This checkout's stage commit against ``baseline``'s, in alternating rounds."""
    ours: tuple[list[float], list[float]] = ([], [])
    theirs: tuple[list[float], list[float]] = ([], [])
    for r in range(rounds):
        for label, tree, into in (("base", baseline, theirs), ("this", None, ours)):
            changed, unchanged = _stage_commits(repo, root / f"{label}{r}", COMMITS // 3, tree)
            into[0].extend(changed)
            into[1].extend(unchanged)
    for name, index in (("stage commit, small change", 0), ("stage with no change", 1)):
        print(_summary(f"{name}, baseline {baseline}", theirs[index]))
        print(_summary(f"{name}, this checkout", ours[index]))
        print(f"  ratio this/baseline: median "
              f"{statistics.median(ours[index]) / statistics.median(theirs[index]):.2f}, best "
              f"{min(ours[index]) / min(theirs[index]):.2f}")


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


def main(baseline: Path | None = None, rounds: int = 6) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = _make_repo(root)
        if baseline is not None:
            _side_by_side(repo, root, baseline, rounds)
            return
        changed, unchanged = _stage_commits(repo, root / "logs", COMMITS)
        print(_summary(f"stage commit, small change, {FILES} files", changed))
        print(_summary("stage with no change (no commit)", unchanged))
        dot = _fanout_dot(root)
        # Isolated first: the --no-git runs write into the checkout itself.
        isolated = min(_time_cli(repo, dot, f"git{i}") for i in range(2))
        plain = min(_time_cli(repo, dot, f"plain{i}", "--no-git",
                              "--logs-root", str(root / f"plain{i}")) for i in range(2))
        print(f"fan-out of {BRANCHES} branches: {isolated:.2f} s with worktrees, "
              f"{plain:.2f} s with --no-git; "
              f"{(isolated - plain) / BRANCHES * 1000:.0f} ms per branch")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_git",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path,
                        help="another checkout: compare its stage commit with this one's, "
                             "side by side")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    main(args.baseline, args.rounds)
