"""Putting a run's repository state right after a crash (kill -9 in mid-commit).

A resume holds the run lock, so no live attractor process can be using the
run's worktree: a lock file left there belongs to a git command that died
with the run. A half-made commit (objects written, ref not moved; or ref
moved, checkpoint not written) is undone by resetting to the checkpoint's
commit, which is where code and context last agreed.
"""

from __future__ import annotations

from pathlib import Path

from .gitcmd import git

_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "MERGE_HEAD", "MERGE_MSG", "MERGE_MODE")


async def clear_stale_locks(repo: Path, worktree: Path, branch: str) -> list[Path]:
    """Remove the lock files (and merge leftovers) a killed git left for this run."""
    removed = []
    common = Path((await git(repo, "rev-parse", "--git-common-dir")).stdout.strip())
    if not common.is_absolute():
        common = (repo / common).resolve()
    candidates = [common / "refs" / "heads" / f"{branch}.lock"]
    gitdir = await _worktree_gitdir(worktree)
    if gitdir is not None:
        candidates += [gitdir / name for name in _LOCKS]
    for path in candidates:
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


async def _worktree_gitdir(worktree: Path) -> Path | None:
    """The worktree's private git dir, read from its ``.git`` file (no git call: git
    itself may refuse to run while its lock files are in the way)."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir: "):
        return None
    path = Path(text[len("gitdir: "):])
    return path if path.is_absolute() else (worktree / path).resolve()


async def drop_branch_worktrees(repo: Path, logs_root: Path, main: Path) -> None:
    """Parallel branch worktrees of the interrupted run: the branches run again."""
    listing = await git(repo, "worktree", "list", "--porcelain")
    for line in listing.stdout.splitlines():
        if not line.startswith("worktree "):
            continue
        path = Path(line[len("worktree "):])
        if path != main and logs_root in path.parents:
            await git(repo, "worktree", "remove", "--force", str(path), check=False)
    await git(repo, "worktree", "prune")


async def reset_worktree(repo: Path, worktree: Path, branch: str, sha: str) -> None:
    """The worktree on ``branch`` at ``sha`` with no other change (recreated if gone)."""
    usable = (worktree / ".git").exists() and (await git(
        worktree, "rev-parse", "--is-inside-work-tree", check=False)).returncode == 0
    if not usable:
        if worktree.exists():
            await git(repo, "worktree", "remove", "--force", str(worktree), check=False)
        await git(repo, "worktree", "prune")
        await git(repo, "branch", "-f", branch, sha)
        await git(repo, "worktree", "add", "-q", "-f", str(worktree), branch)
        return
    await git(worktree, "checkout", "-q", "-f", "-B", branch, sha)
    await git(worktree, "clean", "-q", "-f", "-d")
