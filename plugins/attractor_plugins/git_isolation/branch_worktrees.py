"""Parallel branches: a worktree on a branch of its own off the fan-out commit, and the
fan-in's merge of the winner into the lane that fanned out."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from .commits import GitLane
from .gitcmd import GitError, git

_UNSAFE_REF = re.compile(r"[^A-Za-z0-9_.-]+")


def branch_ref(run_id: str, node_id: str, pass_number: int, index: int, key: str) -> str:
    """``attractor/branch/<run_id>/<node>-p<pass>-<index>-<key>``: one path component per
    branch, so nested branches never collide with a ref that is also a directory."""
    flat = _UNSAFE_REF.sub("-", f"{node_id}-p{pass_number}-{index}-{key.replace('/', '--')}")
    return f"attractor/branch/{run_id}/{flat.replace('..', '.').strip('.')}"


async def add_worktree(repo: Path, path: Path, ref: str, base: str,
                       registry: trio.Lock) -> GitLane:
    """A fresh worktree at ``path`` on branch ``ref`` reset to ``base``.

    Only git's bookkeeping (registering the worktree, moving the ref) holds
    ``registry``; filling in the files, the slow part, runs alongside other branches.
    """
    async with registry:
        if path.exists() or await _registered(repo, path):
            await git(repo, "worktree", "remove", "--force", str(path), check=False)
            await git(repo, "worktree", "prune")
        await git(repo, "worktree", "add", "-q", "-f", "--no-checkout", "-B", ref, str(path),
                  base)
    await git(path, "-c", "checkout.workers=0", "reset", "-q", "--hard", base)
    return GitLane(path, ref, base, base)


async def _registered(repo: Path, path: Path) -> bool:
    listing = await git(repo, "worktree", "list", "--porcelain")
    return f"worktree {path}" in listing.stdout.splitlines()


async def remove_worktree(repo: Path, path: Path) -> None:
    await git(repo, "worktree", "remove", "--force", str(path), check=False)


async def merge_into(lane: GitLane, head: str, message: str,
                     env: dict[str, str]) -> tuple[str, bool, list[str]]:
    """Merge commit ``head`` into the lane: (new head, fast-forward?, conflicting files).

    On a conflict the merge is aborted, the lane is left as it was, and the files
    are returned; the caller fails the fan-in.
    """
    before = lane.head
    result = await git(lane.worktree, "merge", "--no-edit", "--no-verify", "-q", "-m", message,
                       head, check=False, env=env)
    if result.returncode != 0:
        unmerged = await git(lane.worktree, "diff", "--name-only", "--diff-filter=U",
                             check=False)
        files = sorted({f for f in unmerged.stdout.splitlines() if f})
        await git(lane.worktree, "merge", "--abort", check=False)
        if not files:
            raise GitError(f"git merge failed: {result.stderr.strip() or result.stdout.strip()}")
        return before, False, files
    after = (await git(lane.worktree, "rev-parse", "HEAD")).stdout.strip()
    fast_forward = after == head
    lane.head, lane.tree, lane.index_clean = after, "", False
    return after, fast_forward, []
