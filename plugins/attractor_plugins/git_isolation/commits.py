"""One commit per completed stage, made with plumbing so nothing else runs.

``git add -A`` (run files excluded, split index), ``write-tree``, and, only when the tree
differs from the parent's, ``commit-tree`` and ``update-ref``. No hooks run
and no editor opens. A stage that changed nothing costs one ``git add``: when
it stages nothing and the index is known to match the last commit, the tree
cannot have changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from attrs import define

from .gitcmd import git

# ``git add`` rewrites the whole index whenever a stage changed something: about 1 MB (and
# its checksum) for 10,000 files. A split index writes only the entries that changed, next to
# a shared base in the worktree's own git dir. Given per command, so the repository's own
# configuration is left alone; later commands (an agent's, a merge) keep the split as found.
_SPLIT_INDEX = ("-c", "core.splitIndex=true")


@define
class GitLane:
    """One line of work: the run branch in the run's worktree, or a parallel branch in
    its own. ``head`` is the lane's last commit and ``tree`` that commit's tree."""

    worktree: Path
    ref: str
    base: str
    head: str
    tree: str = ""
    index_clean: bool = False  # the index is known to hold exactly ``head``'s tree


def stage_message(run_id: str, node_id: str, status: str, *, attempt: int,
                  failure_class: str, stage_dir: str, branch_key: str) -> str:
    """``attractor(<run_id>): <node_id> (<status>)`` and a trailer block."""
    trailers = [f"Attractor-Run: {run_id}", f"Attractor-Node: {node_id}",
                f"Attractor-Status: {status}", f"Attractor-Attempt: {attempt}",
                f"Attractor-Failure-Class: {failure_class or 'none'}",
                f"Attractor-Stage-Dir: {stage_dir}"]
    if branch_key:
        trailers.append(f"Attractor-Branch: {branch_key}")
    return f"attractor({run_id}): {node_id} ({status})\n\n" + "\n".join(trailers) + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The ``Attractor-*`` trailers of a commit message, keyed by name."""
    found = {}
    for line in message.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("Attractor-"):
            found[key] = value.strip()
    return found


def attempt_of(stage_dir: Path) -> int:
    """The attempt recorded in the stage's status.json (1 if unreadable)."""
    try:
        data = json.loads((stage_dir / "status.json").read_text(encoding="utf-8"))
        return int(data.get("attempt", 1))
    except (OSError, ValueError, TypeError, AttributeError):
        return 1


async def head_of(worktree: Path) -> str:
    """The worktree's HEAD commit, read from git's files when they are plain (a stage
    commit must stay cheap), else asked of git."""
    try:
        gitdir = Path((worktree / ".git").read_text(encoding="utf-8").split("gitdir: ", 1)[1]
                      .strip())
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
        return (common / head[len("ref: "):]).read_text(encoding="utf-8").strip()
    except (OSError, IndexError):
        return (await git(worktree, "rev-parse", "HEAD")).stdout.strip()


async def tree_of(worktree: Path, commit: str) -> str:
    return (await git(worktree, "rev-parse", f"{commit}^{{tree}}")).stdout.strip()


async def commit_lane(lane: GitLane, message: str, excludes: tuple[str, ...],
                      env: dict[str, str], *, allow_empty: bool = False) -> str:
    """Commit everything changed in the lane's worktree; return the new commit, or ``""``
    when nothing changed (and empty commits are not wanted)."""
    current = await head_of(lane.worktree)
    if current != lane.head:  # the stage committed on its own (an agent running git commit)
        lane.head, lane.tree, lane.index_clean = current, "", False
    added = await git(lane.worktree, *_SPLIT_INDEX, "add", "-A", "-v", "--", ".", *excludes)
    if not added.stdout.strip() and lane.index_clean and not allow_empty:
        return ""  # nothing staged, and the index already matched the last commit
    lane.index_clean = False
    tree = (await git(lane.worktree, "write-tree")).stdout.strip()
    if not lane.tree:
        lane.tree = await tree_of(lane.worktree, lane.head)
    if tree == lane.tree and not allow_empty:
        lane.index_clean = True
        return ""
    sha = (await git(lane.worktree, "commit-tree", tree, "-p", lane.head,
                     stdin=message.encode(), env=env)).stdout.strip()
    # Compare-and-swap on the lane's head: a concurrent writer makes this fail, loudly.
    await git(lane.worktree, "update-ref", "-m", message.splitlines()[0], "HEAD", sha,
              lane.head)
    lane.head, lane.tree, lane.index_clean = sha, tree, True
    return sha
