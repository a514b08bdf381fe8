"""Parallel branches: a worktree on a branch of its own off the fan-out commit, and the
fan-in's merge of the winner into the lane that fanned out."""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


class RegistryLock:
    """git's worktree bookkeeping of a repository, changed by one command at a time.

    A run's branches open and close worktrees of one repository concurrently: as
    trio tasks of the run's process, and, on an executor, as ``trio.run`` s in the
    threads of several worker processes (on several hosts sharing the repository).
    So the lock is a ``threading.Lock`` per repository in this process, then
    ``flock`` on ``attractor-worktrees.lock`` in the repository's git dir (on NFS,
    Linux maps ``flock`` to a lock the server holds, across hosts).
    """

    def __init__(self) -> None:
        self._files: dict[Path, Path] = {}

    @asynccontextmanager
    async def held(self, repo: Path) -> AsyncIterator[None]:
        path = self._files.get(repo)
        if path is None:
            common = (await git(repo, "rev-parse", "--git-common-dir")).stdout.strip()
            path = self._files[repo] = (repo / common).resolve() / _LOCK_FILE
        fd = await trio.to_thread.run_sync(_acquire, path)
        try:
            yield
        finally:
            _release(path, fd)


_LOCK_FILE = "attractor-worktrees.lock"
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _acquire(path: Path) -> int:
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(path, threading.Lock())
    lock.acquire()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    except BaseException:
        lock.release()
        raise
    return fd


def _release(path: Path, fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    finally:
        _THREAD_LOCKS[path].release()


async def add_worktree(repo: Path, path: Path, ref: str, base: str,
                       registry: RegistryLock) -> GitLane:
    """A fresh worktree at ``path`` on branch ``ref`` reset to ``base``.

    Only git's bookkeeping (registering the worktree, moving the ref) holds
    ``registry``; filling in the files, the slow part, runs alongside other branches.
    """
    async with registry.held(repo):
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


async def remove_worktree(repo: Path, path: Path, registry: RegistryLock) -> None:
    async with registry.held(repo):
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
