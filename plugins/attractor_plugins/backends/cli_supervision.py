"""Supervising an agent CLI: own process group, idle and total timeouts, kill grace.

Every CLI is treated the same way (reference Part C.2). The command runs
as the leader of a new session with stdin from a file and stdout/stderr
written straight to files, so no grandchild holding a pipe can hang the
wait. A watcher polls the two files: output growth is reported (liveness
heartbeats) and no growth for ``idle_timeout`` stops the group. Stopping
means SIGTERM to the group, ``kill_grace`` seconds, then SIGKILL to the
group; a stage timeout or run cancellation does the same and propagates.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import trio
from attrs import frozen

from attractor_core.sdk import run_in_group

POLL_SECONDS = 0.25


@frozen
class Limits:
    idle_timeout: float
    total_timeout: float
    kill_grace: float


@frozen
class ProcessEnd:
    """``trigger``: ``exit``, ``idle_timeout`` or ``total_timeout`` (then ``exit_code`` is None)."""

    trigger: str
    exit_code: int | None
    duration_s: float


async def supervise(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: Path,
                    stdout: Path, stderr: Path, limits: Limits,
                    on_output: Callable[[int], None]) -> ProcessEnd:
    started = trio.current_time()
    # ``exec`` makes the CLI itself the group leader; stdin comes from the prompt file.
    command = f"exec {shlex.join(argv)} < {shlex.quote(str(stdin))}"
    ended: list[ProcessEnd] = []
    stop = trio.CancelScope()

    async def run() -> None:
        with stdout.open("wb") as out, stderr.open("wb") as err:
            code = await run_in_group(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                      kill_grace=limits.kill_grace)
        on_output(_size(stdout) + _size(stderr))  # what came after the last poll
        ended.append(ProcessEnd("exit", code, trio.current_time() - started))
        stop.cancel()

    async def watch() -> None:
        await _until_idle(stdout, stderr, limits.idle_timeout, on_output)
        ended.append(ProcessEnd("idle_timeout", None, trio.current_time() - started))
        stop.cancel()

    with trio.move_on_after(limits.total_timeout), stop:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            nursery.start_soon(watch)
    return ended[0] if ended else ProcessEnd("total_timeout", None,
                                             trio.current_time() - started)


async def _until_idle(stdout: Path, stderr: Path, idle_timeout: float,
                      on_output: Callable[[int], None]) -> None:
    """Return once neither file grew for ``idle_timeout`` seconds; report each growth."""
    last_size, last_growth = -1, trio.current_time()
    while True:
        await trio.sleep(POLL_SECONDS)
        size = _size(stdout) + _size(stderr)
        now = trio.current_time()
        if size != last_size:
            last_size, last_growth = size, now
            on_output(size)
        elif now - last_growth >= idle_timeout:
            return


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
