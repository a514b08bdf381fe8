"""``attractor gc``: remove the worktrees of runs that have finished.

A run's worktree is kept after it ends, for inspection; its branch (and
every parallel branch's ref) is kept for good. ``gc`` removes the worktrees
of runs whose final.json says they ended and whose process is gone, then
prunes git's records of worktrees whose directory was deleted by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from attractor_core.sdk import RunLock, UsageError, read_final

from .. import commands
from .gitcmd import GitError, git_sync

_OURS = ("refs/heads/attractor/run/", "refs/heads/attractor/branch/")


def add_gc_command(subparsers: Any) -> None:
    p = subparsers.add_parser("gc", help=commands.GC)
    p.add_argument("--repo", type=Path, default=None,
                   help="the git repository (default: the current directory's)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.set_defaults(handler=_gc)


def _gc(args: argparse.Namespace) -> int:
    try:
        removed = collect(args.repo or Path.cwd(), dry_run=args.dry_run)
    except UsageError as exc:
        sys.stderr.write(f"attractor: {exc}\n")
        return 2
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        sys.stdout.write(f"{verb} {path}\n")
    sys.stdout.write(f"{len(removed)} worktree(s) {verb}\n")
    return 0


def collect(where: Path, *, dry_run: bool = False) -> list[Path]:
    """The worktrees of finished runs, removed (unless ``dry_run``); returns their paths."""
    try:
        repo = Path(git_sync(where, "rev-parse", "--show-toplevel").stdout.strip())
        listing = git_sync(repo, "worktree", "list", "--porcelain").stdout
    except GitError as exc:
        raise UsageError(f"attractor gc needs a git repository: {exc}") from None
    removed = []
    for path, branch in _worktrees(listing):
        if branch.startswith(_OURS) and _run_finished(path):
            if not dry_run:
                git_sync(repo, "worktree", "remove", "--force", str(path), check=False)
            removed.append(path)
    if not dry_run:
        git_sync(repo, "worktree", "prune")
    return removed


def _worktrees(listing: str) -> list[tuple[Path, str]]:
    found, path = [], None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            path = Path(line[len("worktree "):])
        elif line.startswith("branch ") and path is not None:
            found.append((path, line[len("branch "):]))
    return found


def _run_finished(worktree: Path) -> bool:
    """The run owning ``worktree`` (the nearest logs root above it) has a final.json and no
    live process; a run whose logs root is gone counts as finished."""
    for root in worktree.parents:
        if (root / "manifest.json").exists():
            final = read_final(root / "final.json")
            return final is not None and not RunLock(root / "run.lock", final.run_id) \
                .owner_alive()
    return True
