"""``GitWorkspace``: the run branch and its worktree, for one run (or one resume)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from attractor_core.sdk import UsageError, write_text_atomic

from . import repair
from .branch_worktrees import (
    RegistryLock,
    add_worktree,
    branch_ref,
    merge_into,
    remove_worktree,
)
from .commits import GitLane, attempt_of, commit_lane, stage_message
from .events import (
    BranchMergeConflict,
    BranchMerged,
    BranchWorkspaceOpened,
    GitCommitFailed,
    GitPushFailed,
    GitPushSucceeded,
    GitWorkspaceReady,
    StageCommitted,
)
from .gitcmd import GitError, git
from .repo import head_commit, identity, run_file_pathspecs, snapshot_commit, toplevel, uncommitted
from .run_meta import meta_ref, save_run_meta

Emit = Callable[[Any], None]
RUN_BRANCH_PREFIX = "attractor/run/"
RUN_FILES_DIR = ".attractor"
PUSH_TIMEOUT_S = 120.0
_SHOWN_DIRTY = 5


def run_branch_name(run_id: str) -> str:
    return f"{RUN_BRANCH_PREFIX}{run_id}"


class GitWorkspace:
    """Implements ``attractor_core.sdk.RunWorkspace`` with git branches and worktrees."""

    # An executor's worker serves the run's branches (AttachedGitWorkspace).
    remote_branches = True

    def __init__(self, *, workdir: Path, logs_root: Path, run_id: str,
                 options: Mapping[str, Any], resume_from: Mapping[str, Any] | None):
        self.user_workdir = workdir
        self.logs_root = logs_root
        self.run_id = run_id
        self.options = options
        self.resume_from = resume_from
        self.run_branch = run_branch_name(run_id)
        self.repo = workdir
        self.subdir = ""
        self.base_sha = ""
        self.snapshot = False
        self.env: dict[str, str] = {}
        self.excludes: tuple[str, ...] = ()
        self.main = GitLane(logs_root / "worktree", self.run_branch, "", "")
        self.lanes: dict[str, GitLane] = {}
        self._worktree_lock = RegistryLock()  # git's worktree bookkeeping is not concurrent-safe
        self._meta_saved = False  # the run record in the repository (run_meta.py)
        self._announced = False

    # -- the protocol ------------------------------------------------------
    @property
    def workdir(self) -> Path:
        return self.main.worktree / self.subdir if self.subdir else self.main.worktree

    def record(self) -> dict[str, Any]:
        return {"kind": "git", "repo": str(self.repo), "run_branch": self.run_branch,
                "base_sha": self.base_sha, "sha": self.main.head,
                "worktree": str(self.main.worktree), "subdir": self.subdir}

    async def start(self) -> None:
        try:
            await self._start()
        except GitError as exc:
            raise UsageError(f"git isolation cannot set up the run: {exc}; fix that, or pass "
                             "--no-git to run in the workdir itself") from None

    async def _start(self) -> None:
        self.repo = await toplevel(self.user_workdir)
        self.subdir = _relative(self.user_workdir, self.repo)
        self.excludes = run_file_pathspecs(self.subdir)
        self.env = await identity(self.repo)
        _ignore_logs_root(self.logs_root, self.repo)
        exists = await self._branch_exists()
        if self.resume_from is not None and exists:
            await self._restore(self.resume_from)
        elif self.resume_from and self.resume_from.get("kind") == "git":
            raise UsageError(f"the run's branch {self.run_branch} is gone from {self.repo}, "
                             "and with it the run's code; fetch or restore the branch, or "
                             "start a new run")
        else:
            await self._create()

    async def stage_completed(self, *, node_id: str, status: str, failure_class: str,
                              stage_dir: Path, workdir: Path, branch_key: str,
                              emit: Emit) -> dict[str, Any]:
        lane = self.lanes.get(branch_key, self.main) if branch_key else self.main
        self._announce(emit)
        if not self._meta_saved:
            self._meta_saved = await save_run_meta(self, emit)
        message = stage_message(self.run_id, node_id, status, attempt=attempt_of(stage_dir),
                                failure_class=failure_class,
                                stage_dir=_relative(stage_dir, self.logs_root),
                                branch_key=branch_key)
        parent = lane.head
        try:
            sha = await commit_lane(lane, message, self.excludes, self.env,
                                    allow_empty=self.options.get("git_empty_commits") == "true")
        except GitError as exc:
            emit(GitCommitFailed(node_id, str(exc), branch_key))
            sha = ""
        if sha:
            emit(StageCommitted(node_id, status, sha, parent, branch_key))
        if lane is self.main:
            return self.record()
        return {"kind": "git", "ref": lane.ref, "base_sha": lane.base, "sha": lane.head}

    async def open_branch(self, *, node_id: str, pass_number: int, index: int, key: str,
                          branch_root: Path, parent_workdir: Path, emit: Emit,
                          resume_from: Mapping[str, Any] | None = None) -> Path:
        self._announce(emit)
        ref = branch_ref(self.run_id, node_id, pass_number, index, key)
        recorded = resume_from or {}
        if recorded.get("ref") == ref and recorded.get("sha"):
            # A continued branch goes on from its checkpoint's commit, where its code and
            # context last agreed (later commits of a stage that was in flight are dropped).
            lane = await add_worktree(self.repo, branch_root / "worktree", ref,
                                      str(recorded["sha"]), self._worktree_lock)
            lane.base = str(recorded.get("base_sha") or lane.base)
        else:
            lane = await add_worktree(self.repo, branch_root / "worktree", ref,
                                      self._lane_at(parent_workdir).head, self._worktree_lock)
        self.lanes[key] = lane
        emit(BranchWorkspaceOpened(node_id, key, ref, lane.base, str(lane.worktree)))
        return lane.worktree / self.subdir if self.subdir else lane.worktree

    async def close_branch(self, *, key: str, workdir: Path, emit: Emit) -> dict[str, Any]:
        lane = self.lanes.pop(key, None)
        if lane is None:
            return {}
        await remove_worktree(self.repo, lane.worktree, self._worktree_lock)
        return {"kind": "git", "ref": lane.ref, "base_sha": lane.base, "head_sha": lane.head}

    async def adopt_branch(self, *, node_id: str, branch_key: str,
                           branch_workspace: Mapping[str, Any], workdir: Path,
                           emit: Emit) -> str:
        head, ref = str(branch_workspace.get("head_sha", "")), str(branch_workspace.get("ref"))
        lane = self._lane_at(workdir)
        if not head or head == lane.head:
            return ""
        message = (f"attractor({self.run_id}): {node_id} merges branch {branch_key}\n\n"
                   f"Attractor-Run: {self.run_id}\nAttractor-Node: {node_id}\n"
                   f"Attractor-Merged-Branch: {ref}\n")
        try:
            sha, fast_forward, conflicts = await merge_into(lane, head, message, self.env)
        except GitError as exc:
            return f"cannot merge branch {branch_key} ({ref}): {exc}"
        if conflicts:
            emit(BranchMergeConflict(node_id, branch_key, ref, conflicts))
            return (f"merging the winning branch {branch_key} ({ref}) conflicts in "
                    f"{', '.join(conflicts)}; the branch is kept for inspection")
        emit(BranchMerged(node_id, branch_key, ref, sha, fast_forward))
        return ""

    async def finish(self, *, status: str, emit: Emit) -> dict[str, Any]:
        self._announce(emit)
        record = self.record()
        record["final_sha"] = self.main.head
        stat = await git(self.repo, "diff", "--stat", self.base_sha, self.main.head, check=False)
        record["diff_stat"] = stat.stdout.rstrip("\n")
        remote = str(self.options.get("push", "") or "")
        if remote:
            await self._push(remote, emit)
        return record

    # -- setup -------------------------------------------------------------
    async def _branch_exists(self) -> bool:
        result = await git(self.repo, "rev-parse", "--verify", "-q",
                           f"refs/heads/{self.run_branch}", check=False)
        return result.returncode == 0

    async def _create(self) -> None:
        base = await head_commit(self.repo)
        dirty = await uncommitted(self.repo)
        if dirty and self.options.get("allow_dirty") != "true":
            raise UsageError(_dirty_message(self.repo, dirty))
        if dirty:
            base = await snapshot_commit(
                self.repo, base, self.logs_root / "snapshot.index",
                f"attractor({self.run_id}): snapshot of uncommitted changes\n\n"
                f"Attractor-Run: {self.run_id}\n", self.excludes, self.env)
            self.snapshot = True
        if not base:
            raise UsageError(f"git repository {self.repo} has no commit yet; commit something "
                             "first, or pass --allow-dirty (the files become the base commit) "
                             "or --no-git")
        if await self._branch_exists():
            raise UsageError(f"branch {self.run_branch} already exists in {self.repo}; choose "
                             "another --run-id, or resume that run")
        try:
            await git(self.repo, "worktree", "add", "-q", "-b", self.run_branch,
                      str(self.main.worktree), base)
        except GitError as exc:
            raise UsageError(f"cannot create the run's worktree: {exc}") from None
        self.base_sha = base
        self.main = GitLane(self.main.worktree, self.run_branch, base, base)

    async def _restore(self, recorded: Mapping[str, Any]) -> None:
        """Back to the checkpoint's commit: code and context agree again."""
        tip = (await git(self.repo, "rev-parse", f"refs/heads/{self.run_branch}")).stdout.strip()
        sha = str(recorded.get("sha") or tip)
        self.base_sha = str(recorded.get("base_sha") or sha)
        self.snapshot = False
        await repair.clear_stale_locks(self.repo, self.main.worktree, self.run_branch)
        await repair.drop_branch_worktrees(self.repo, self.logs_root, self.main.worktree)
        await repair.reset_worktree(self.repo, self.main.worktree, self.run_branch, sha)
        self.main = GitLane(self.main.worktree, self.run_branch, self.base_sha, sha)

    async def _push(self, remote: str, emit: Emit) -> None:
        refs = [f"refs/heads/{self.run_branch}:refs/heads/{self.run_branch}"]
        if self._meta_saved:  # the run record too, so the run can be resumed elsewhere
            refs.append(f"{meta_ref(self.run_id)}:{meta_ref(self.run_id)}")
        try:
            await git(self.repo, "push", "-q", remote, *refs, timeout=PUSH_TIMEOUT_S)
        except GitError as exc:
            emit(GitPushFailed(remote, self.run_branch, str(exc)))
            return
        emit(GitPushSucceeded(remote, self.run_branch))

    def _announce(self, emit: Emit) -> None:
        """``git_workspace_ready`` once, at the first moment an event can be sent."""
        if self._announced:
            return
        self._announced = True
        emit(GitWorkspaceReady(str(self.repo), self.run_branch, self.base_sha, self.main.head,
                               str(self.main.worktree), self.resume_from is not None,
                               self.snapshot))

    def _lane_at(self, workdir: Path) -> GitLane:
        for lane in (self.main, *self.lanes.values()):
            if workdir == lane.worktree or lane.worktree in workdir.parents:
                return lane
        return self.main


class AttachedGitWorkspace(GitWorkspace):
    """The run's workspace as an executor's worker sees it, from the record the parent
    sent with a branch: it opens, commits and closes the worktrees of the branches sent
    here, in the run's repository (which the worker sees at the same path as the parent,
    as it sees the run directory), under the same lock as the parent's branches. The run
    branch, its worktree, the run record and the fan-in's merge stay the parent's."""

    def __init__(self, *, record: Mapping[str, Any], logs_root: Path, run_id: str,
                 options: Mapping[str, Any]):
        super().__init__(workdir=Path(str(record.get("repo", ""))), logs_root=logs_root,
                         run_id=run_id, options=options, resume_from=None)
        self._record = dict(record)
        self._announced = True  # the parent announces the workspace and records the run
        self._meta_saved = True

    async def _start(self) -> None:
        record = self._record
        self.subdir = str(record.get("subdir", ""))
        self.excludes = run_file_pathspecs(self.subdir)
        self.env = await identity(self.repo)
        self.run_branch = str(record.get("run_branch", self.run_branch))
        self.base_sha = str(record.get("base_sha", ""))
        self.main = GitLane(Path(str(record.get("worktree", ""))), self.run_branch,
                            self.base_sha, str(record.get("sha", "")))


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return str(path)
    return "" if str(rel) == "." else rel.as_posix()


def _ignore_logs_root(logs_root: Path, repo: Path) -> None:
    """A logs root inside the repository must not show up in the user's ``git status``; the
    default place, ``.attractor/runs/<id>``, gets the whole ``.attractor/`` ignored (runs
    made before isolation existed live there too)."""
    if repo not in logs_root.parents:
        return
    top = repo / logs_root.relative_to(repo).parts[0]
    marker = (top if top.name == RUN_FILES_DIR else logs_root) / ".gitignore"
    if not marker.exists():
        write_text_atomic(marker, "# attractor run files: never part of the repository\n*\n")


def _dirty_message(repo: Path, dirty: list[str]) -> str:
    shown = ", ".join(dirty[:_SHOWN_DIRTY]) + (" ..." if len(dirty) > _SHOWN_DIRTY else "")
    return (f"git repository {repo} has uncommitted changes ({len(dirty)} path(s): {shown}); "
            "the run would not see them. Commit or stash them, pass --allow-dirty to snapshot "
            "them into the run's base commit (your checkout stays as it is), or pass --no-git")

