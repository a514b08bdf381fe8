"""The events of git run isolation (documented in docs/events.md)."""

from __future__ import annotations

from typing import ClassVar

from attrs import field, frozen

from attractor_core.sdk import Event, to_str_tuple


@frozen
class GitWorkspaceReady(Event):
    """The run works on ``run_branch`` in ``worktree`` (at the start, and after a resume)."""

    name: ClassVar[str] = "git_workspace_ready"
    repo: str
    run_branch: str
    base_sha: str
    head_sha: str
    worktree: str
    resumed: bool
    snapshot: bool  # the base commit holds the uncommitted changes (--allow-dirty)


@frozen
class StageCommitted(Event):
    name: ClassVar[str] = "stage_committed"
    node_id: str
    status: str
    sha: str
    parent_sha: str
    branch_key: str = ""


@frozen
class GitCommitFailed(Event):
    """A stage's changes could not be committed; they stay in the worktree for the next
    commit, and a resume goes back to the last commit."""

    name: ClassVar[str] = "git_commit_failed"
    node_id: str
    error: str
    branch_key: str = ""


@frozen
class BranchWorkspaceOpened(Event):
    name: ClassVar[str] = "branch_workspace_opened"
    node_id: str
    branch_key: str
    ref: str
    base_sha: str
    worktree: str


@frozen
class BranchMerged(Event):
    name: ClassVar[str] = "branch_merged"
    node_id: str
    branch_key: str
    ref: str
    sha: str
    fast_forward: bool


@frozen
class BranchMergeConflict(Event):
    name: ClassVar[str] = "branch_merge_conflict"
    node_id: str
    branch_key: str
    ref: str
    files: tuple[str, ...] = field(converter=to_str_tuple)


@frozen
class GitPushSucceeded(Event):
    name: ClassVar[str] = "git_push_succeeded"
    remote: str
    branch: str


@frozen
class GitPushFailed(Event):
    name: ClassVar[str] = "git_push_failed"
    remote: str
    branch: str
    error: str


GIT_EVENTS: tuple[type[Event], ...] = (
    GitWorkspaceReady, StageCommitted, GitCommitFailed, BranchWorkspaceOpened, BranchMerged,
    BranchMergeConflict, GitPushSucceeded, GitPushFailed,
)
