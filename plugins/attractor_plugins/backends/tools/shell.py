"""``shell``: a command run by bash in its own process group, in the workdir, with a timeout.

On timeout the whole group gets SIGTERM, then SIGKILL after the kill grace
(the handlers' process-group runner does it), and the model gets the
partial output plus a message saying how to ask for more time.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import trio

from attractor_core.sdk import run_in_group

from .base import ToolEnv, ToolFailure, define

# Secrets never reach a command the model wrote (coding-agent-loop-spec §4.2).
_SECRET = re.compile(r".*_(API_KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)$", re.IGNORECASE)


def command_environment(environment: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environment.items() if not _SECRET.match(k)}


async def shell(args: dict[str, Any], env: ToolEnv) -> str:
    timeout_ms = min(int(args.get("timeout_ms", env.default_timeout_ms)), env.max_timeout_ms)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code: int | None = None
        with trio.move_on_after(timeout_ms / 1000):
            try:
                code = await run_in_group(
                    args["command"], shell="/bin/bash", cwd=env.workspace.root,
                    env=command_environment(env.environment), stdout=out, stderr=err,
                    kill_grace=env.kill_grace)
            except OSError as exc:
                raise ToolFailure(f"cannot start bash: {exc}") from None
        text = _collected(out, err)
    elapsed = int((time.monotonic() - started) * 1000)
    if code is None:
        return (f"{text}\n[ERROR: Command timed out after {timeout_ms}ms. Partial output is "
                "shown above.\nYou can retry with a longer timeout by setting the timeout_ms "
                "parameter.]")
    return f"{text}\n[exit code {code}, {elapsed} ms]"


def _collected(out: Any, err: Any) -> str:
    out.seek(0)
    err.seek(0)
    stdout = str(out.read().decode("utf-8", errors="replace"))
    stderr = str(err.read().decode("utf-8", errors="replace"))
    return stdout + (f"\n[stderr]\n{stderr}" if stderr else "")


SHELL = define(
    "shell", "Execute a bash command in the workdir. Returns output and exit code.",
    {"command": {"type": "string"}, "timeout_ms": {"type": "integer", "minimum": 1},
     "description": {"type": "string"}},
    ["command"], shell, limit=30_000, mode="head_tail", lines=256)
