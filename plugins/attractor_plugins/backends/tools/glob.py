"""``glob``: files of the workdir matching a pattern, newest first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trio

from .base import ToolEnv, ToolFailure, define
from .workspace import PathEscape, Workspace


async def glob(args: dict[str, Any], env: ToolEnv) -> str:
    base = env.workspace.resolve(args.get("path", "."))
    if not base.is_dir():
        raise ToolFailure(f"directory not found: {args.get('path')}")
    pattern = args["pattern"]
    if os.path.isabs(pattern) or ".." in Path(pattern).parts:
        raise ToolFailure(f"pattern {pattern!r} must be relative and stay inside the workdir")
    found = await trio.to_thread.run_sync(_match, env.workspace, base, pattern)
    return "\n".join(found) if found else "no files match"


def _match(workspace: Workspace, base: Path, pattern: str) -> list[str]:
    inside: list[tuple[float, str]] = []
    for path in base.glob(pattern):
        try:
            real = workspace.resolve(str(path))
            inside.append((real.stat().st_mtime, workspace.relative(path)))
        except (PathEscape, OSError):
            continue  # a link leading out of the workdir is not listed
    return [name for _, name in sorted(inside, key=lambda item: (-item[0], item[1]))]


GLOB = define(
    "glob", "Find files in the workdir matching a glob pattern (e.g. **/*.py).",
    {"pattern": {"type": "string"}, "path": {"type": "string"}},
    ["pattern"], glob, limit=20_000, lines=500)
