"""Entry point of git run isolation (entry-point group ``attractor``, name ``git_isolation``)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from attractor_core.sdk import Event

# The git modules (and trio with them) load only when a hook needs them: `attractor validate`
# loads this plugin too, and must stay cheap.

hookimpl = pluggy.HookimplMarker("attractor")


@hookimpl
def attractor_cli_options(command: str, parser: argparse.ArgumentParser) -> Sequence[str]:
    if command == "run":
        group = parser.add_argument_group("git isolation (docs/git.md)")
        group.add_argument("--no-git", action="store_true", dest="no_git",
                           help="work in the workdir itself, even inside a git repository")
        group.add_argument("--allow-dirty", action="store_true", dest="allow_dirty",
                           help="snapshot uncommitted changes into the run's base commit "
                                "instead of refusing to start")
        group.add_argument("--push", metavar="REMOTE", dest="push",
                           help="push the run branch to REMOTE when the run ends")
        group.add_argument("--git-empty-commits", action="store_true",
                           dest="git_empty_commits",
                           help="commit stages that changed nothing too")
        return ["no_git", "allow_dirty", "push", "git_empty_commits"]
    if command == "resume":
        group = parser.add_argument_group("git isolation (docs/git.md)")
        group.add_argument("--run-branch", metavar="BRANCH", dest="run_branch",
                           help="resume the run of this branch (attractor/run/<id>) from the "
                                "repository alone, when its logs root is lost")
        group.add_argument("--push", metavar="REMOTE", dest="push",
                           help="push the run branch to REMOTE when the run ends")
        return ["run_branch", "push"]
    return []


@hookimpl
def attractor_cli_commands(subparsers: Any) -> None:
    from .gc import add_gc_command

    add_gc_command(subparsers)


@hookimpl
def attractor_event_types() -> Sequence[type[Event]]:
    from .events import GIT_EVENTS

    return GIT_EVENTS


@hookimpl
def attractor_run_workspace(workdir: Path, logs_root: Path, run_id: str,
                            options: Mapping[str, Any],
                            resume_from: Mapping[str, Any] | None) -> Any | None:
    from .repo import find_repo_marker

    if options.get("no_git") == "true" or find_repo_marker(workdir) is None:
        return None
    if resume_from is not None and resume_from.get("kind") != "git" \
            and (logs_root / "checkpoint.json").exists():
        return None  # the run got this far without isolation: it goes on without it
    from .workspace import GitWorkspace

    return GitWorkspace(workdir=workdir, logs_root=logs_root, run_id=run_id, options=options,
                        resume_from=resume_from)


@hookimpl
def attractor_branch_workspace(record: Mapping[str, Any], logs_root: Path, run_id: str,
                               options: Mapping[str, Any]) -> Any | None:
    if record.get("kind") != "git":
        return None
    from .workspace import AttachedGitWorkspace

    return AttachedGitWorkspace(record=record, logs_root=logs_root, run_id=run_id,
                                options=options)


@hookimpl
def attractor_locate_run(options: Mapping[str, Any], workdir: Path) -> Path | None:
    branch = options.get("run_branch")
    if not branch:
        return None
    from .locate import logs_root_from_branch

    return logs_root_from_branch(str(branch), workdir)


@hookimpl
def attractor_workspace_summary(record: Mapping[str, Any]) -> Mapping[str, str] | None:
    if record.get("kind") != "git":
        return None
    return {"run_branch": str(record.get("run_branch", "")),
            "worktree": str(record.get("worktree", ""))}
