"""Running ``git``: one subprocess per command, in its own process group, timed out.

Cancellation (the run's, or the timeout) stops the whole group, as for tool
commands. Every command runs with a fixed, quiet environment: no pager, no
prompts, no editor, C locale for parsable messages.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import trio
from attrs import frozen

from attractor_core.sdk import terminate_group

DEFAULT_TIMEOUT_S = 120.0
_KILL_GRACE_S = 2.0


# Set by git hooks and wrappers; they would point our commands at another repository.
_LOCATION_VARIABLES = frozenset({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
                                 "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE", "GIT_PREFIX"})


class GitError(Exception):
    """A git command failed; the message names the command and quotes git's own words."""


@frozen
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat",
                "GIT_EDITOR": "true", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    env.update(extra or {})
    return env


async def git(cwd: Path, *args: str, check: bool = True, stdin: bytes | None = None,
              env: Mapping[str, str] | None = None,
              timeout: float = DEFAULT_TIMEOUT_S) -> GitResult:
    """Run ``git args...`` in ``cwd``; raise ``GitError`` on a non-zero exit when ``check``."""
    argv = ["git", *args]

    async def stop(process: trio.Process) -> None:
        await terminate_group(process.pid, _KILL_GRACE_S)

    try:
        with trio.fail_after(timeout):
            done = await trio.run_process(
                argv, cwd=cwd, env=git_environment(env), stdin=stdin or b"",
                capture_stdout=True, capture_stderr=True, check=False,
                start_new_session=True, deliver_cancel=stop)
    except trio.TooSlowError:
        raise GitError(f"{_show(argv)} in {cwd} took longer than {timeout:g}s") from None
    except OSError as exc:
        raise GitError(f"cannot run {_show(argv)} in {cwd}: {exc.strerror or exc}") from None
    return _checked(argv, cwd, done.returncode, done.stdout, done.stderr, check)


def git_sync(cwd: Path, *args: str, check: bool = True,
             timeout: float = DEFAULT_TIMEOUT_S) -> GitResult:
    """The blocking form, for commands that run outside any trio run (``attractor gc``)."""
    argv = ["git", *args]
    try:
        done = subprocess.run(argv, cwd=cwd, env=git_environment(), capture_output=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GitError(f"{_show(argv)} in {cwd} took longer than {timeout:g}s") from None
    except OSError as exc:
        raise GitError(f"cannot run {_show(argv)} in {cwd}: {exc.strerror or exc}") from None
    return _checked(argv, cwd, done.returncode, done.stdout, done.stderr, check)


def _checked(argv: Sequence[str], cwd: Path, returncode: int, stdout: bytes, stderr: bytes,
             check: bool) -> GitResult:
    """The command's result; a ``GitError`` naming it when ``check`` and it failed."""
    result = GitResult(returncode, stdout.decode("utf-8", "replace"),
                       stderr.decode("utf-8", "replace"))
    if check and result.returncode != 0:
        raise GitError(f"{_show(argv)} failed in {cwd}: {_said(result)}")
    return result


def _show(argv: Sequence[str]) -> str:
    return "'" + " ".join(argv[:4]) + (" ...'" if len(argv) > 4 else "'")


def _said(result: GitResult) -> str:
    text = (result.stderr.strip() or result.stdout.strip() or f"exit {result.returncode}")
    return " ".join(text.splitlines()[-3:])
