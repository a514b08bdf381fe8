"""Facts about the user's repository: where it is, whether it is clean, who commits."""

from __future__ import annotations

from pathlib import Path

from attractor_core.sdk import UsageError

from .gitcmd import GitError, git

# Used when the user has no identity configured, so commits never fail for want of one.
FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "attractor", "GIT_AUTHOR_EMAIL": "attractor@localhost",
                     "GIT_COMMITTER_NAME": "attractor",
                     "GIT_COMMITTER_EMAIL": "attractor@localhost"}


def find_repo_marker(workdir: Path) -> Path | None:
    """The nearest directory at or above ``workdir`` holding a ``.git`` entry.

    Pure file-system checks, no subprocess: this runs for every run, and most
    runs outside a repository must pay nothing for it.
    """
    for candidate in (workdir, *workdir.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


async def toplevel(workdir: Path) -> Path:
    try:
        result = await git(workdir, "rev-parse", "--show-toplevel")
    except GitError as exc:
        raise UsageError(f"{workdir} looks like part of a git repository, but git cannot use "
                         f"it ({exc}); repair it or pass --no-git") from None
    return Path(result.stdout.strip()).resolve()


async def head_commit(repo: Path) -> str:
    """HEAD's commit, or ``""`` in a repository with no commit yet."""
    result = await git(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


async def uncommitted(repo: Path) -> list[str]:
    """Paths with uncommitted changes, untracked files included (ignored ones are not)."""
    result = await git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in result.stdout.split("\0") if e]
    return [e[3:] for e in entries if len(e) > 3]


async def identity(repo: Path) -> dict[str, str]:
    """Environment for commits: the user's identity if configured, else a fallback."""
    result = await git(repo, "var", "GIT_COMMITTER_IDENT", check=False)
    return {} if result.returncode == 0 else dict(FALLBACK_IDENTITY)


def run_file_pathspecs(subdir: str) -> tuple[str, ...]:
    """Pathspecs excluding the run's own files from every commit: an agent's
    ``status.json`` and ``.ai/runs/`` where stages work, and ``.attractor/``."""
    prefixes = {"", f"{subdir}/"} if subdir else {""}
    specs = []
    for prefix in sorted(prefixes):
        for name in ("status.json", ".attractor", ".ai/runs"):
            specs.append(f":(top,exclude){prefix}{name}")
    return tuple(specs)


async def snapshot_commit(repo: Path, base: str, index_file: Path, message: str,
                          excludes: tuple[str, ...], env: dict[str, str]) -> str:
    """A commit of the working tree as it is (tracked and untracked files), made with a
    private index so the user's index and checkout stay exactly as they were."""
    private = {**env, "GIT_INDEX_FILE": str(index_file)}
    try:
        await git(repo, "read-tree", *((base,) if base else ("--empty",)), env=private)
        await git(repo, "add", "-A", "--", ".", *excludes, env=private)
        tree = (await git(repo, "write-tree", env=private)).stdout.strip()
    finally:
        index_file.unlink(missing_ok=True)
    parents = ("-p", base) if base else ()
    result = await git(repo, "commit-tree", tree, *parents, stdin=message.encode(), env=env)
    return result.stdout.strip()
