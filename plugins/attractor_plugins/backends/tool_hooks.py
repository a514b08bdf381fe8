"""Tool call hooks (spec §9.7): shell commands run around every tool call of the agent loop.

``tool_hooks.pre`` runs before a call; a non-zero exit (or a timeout) skips the call and the
model is told why. ``tool_hooks.post`` runs after it, for logging and auditing; its failures
are recorded but never block. Each hook gets the call as environment variables
(``ATTRACTOR_TOOL_HOOK``, ``ATTRACTOR_TOOL_NAME``, ``ATTRACTOR_TOOL_CALL_ID``, and for
``post`` ``ATTRACTOR_TOOL_IS_ERROR``) and as JSON on stdin; every run is a line of
``tool_hooks.ndjson`` in the stage dir, with its output in ``tool_hooks/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio
from attrs import define, field

from attractor_core.sdk import run_in_group

HOOK_TIMEOUT_S = 60.0
_TAIL = 500


@define
class ToolHookRunner:
    pre: str
    post: str
    workdir: Path
    environment: Mapping[str, str]
    stage_dir: Path
    kill_grace: float = 2.0
    timeout_s: float = HOOK_TIMEOUT_S
    _count: int = field(default=0, init=False)

    async def before(self, call_id: str, tool: str, arguments: Any) -> str | None:
        """None to go ahead; otherwise why the call is skipped."""
        if not self.pre:
            return None
        code, tail = await self._run("pre", self.pre, {"tool": tool, "call_id": call_id,
                                                       "arguments": arguments}, {})
        if code == 0:
            return None
        because = (f"exit code {code}" if code is not None
                   else f"timed out after {self.timeout_s:g}s")
        return because + (f": {tail}" if tail else "")

    async def after(self, call_id: str, tool: str, arguments: Any, output: str,
                    is_error: bool) -> None:
        if self.post:
            await self._run("post", self.post, {"tool": tool, "call_id": call_id,
                                                "arguments": arguments, "output": output,
                                                "is_error": is_error},
                            {"ATTRACTOR_TOOL_IS_ERROR": "true" if is_error else "false"})

    async def _run(self, which: str, command: str, payload: dict[str, Any],
                   extra_env: Mapping[str, str]) -> tuple[int | None, str]:
        self._count += 1
        folder = self.stage_dir / "tool_hooks"
        folder.mkdir(exist_ok=True)
        out_path = folder / f"{self._count}-{which}.out"
        err_path = folder / f"{self._count}-{which}.err"
        env = {**self.environment, **extra_env, "ATTRACTOR_TOOL_HOOK": which,
               "ATTRACTOR_TOOL_NAME": str(payload["tool"]),
               "ATTRACTOR_TOOL_CALL_ID": str(payload["call_id"])}
        code: int | None = None
        with out_path.open("wb") as out, err_path.open("wb") as err, \
                trio.move_on_after(self.timeout_s):
            code = await run_in_group(
                command, cwd=self.workdir, env=env, stdout=out, stderr=err,
                kill_grace=self.kill_grace,
                stdin=json.dumps({"hook": which, **payload}, default=str).encode())
        tail = err_path.read_text(encoding="utf-8", errors="replace").strip()[-_TAIL:]
        self._log({"hook": which, "tool": payload["tool"], "call_id": payload["call_id"],
                   "exit_code": code, "stderr_tail": tail})
        return code, tail

    def _log(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(self.stage_dir / "tool_hooks.ndjson", os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
