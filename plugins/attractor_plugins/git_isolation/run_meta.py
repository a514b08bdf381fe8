"""What a resume needs when the logs root is lost, kept in the repository itself.

``refs/attractor/runs/<run_id>`` points at a commit (of the empty tree) whose
message holds the run's manifest.json and graph.dot. Together with the
``Attractor-*`` trailers of the run branch's commits it is enough to rebuild
a logs root (see ``locate.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .events import GitCommitFailed
from .gitcmd import GitError, git

if TYPE_CHECKING:
    from .workspace import GitWorkspace

META_HEADER = "attractor run record"


def meta_ref(run_id: str) -> str:
    return f"refs/attractor/runs/{run_id}"


async def save_run_meta(ws: GitWorkspace, emit: Callable[[Any], None]) -> bool:
    """Store the run's manifest and graph (once, at its first completed stage)."""
    try:
        manifest = json.loads((ws.logs_root / "manifest.json").read_text(encoding="utf-8"))
        graph = (ws.logs_root / "graph.dot").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    body = json.dumps({"manifest": manifest, "graph": graph, "base_sha": ws.base_sha,
                       "run_branch": ws.run_branch, "subdir": ws.subdir}, indent=1)
    message = f"{META_HEADER} {ws.run_id}\n\n{body}\n"
    try:
        # Written, not assumed: git knows the empty tree, but fsck wants it stored.
        tree = (await git(ws.repo, "mktree", stdin=b"")).stdout.strip()
        sha = (await git(ws.repo, "commit-tree", tree, stdin=message.encode(),
                         env=ws.env)).stdout.strip()
        await git(ws.repo, "update-ref", meta_ref(ws.run_id), sha)
    except GitError as exc:
        emit(GitCommitFailed("", f"cannot record the run in {meta_ref(ws.run_id)}: {exc}"))
        return False
    return True


def parse_run_meta(message: str) -> dict[str, Any]:
    """The record stored by ``save_run_meta`` (raises ValueError if it is not one)."""
    head, _, body = message.partition("\n\n")
    if not head.startswith(META_HEADER):
        raise ValueError("not an attractor run record")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("malformed attractor run record")
    return data
