"""``grep``: regex search over the workdir's text files (``path:line:text``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import trio

from .base import ToolEnv, ToolFailure, define
from .workspace import Workspace

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"})


async def grep(args: dict[str, Any], env: ToolEnv) -> str:
    flags = re.IGNORECASE if args.get("case_insensitive") else 0
    try:
        pattern = re.compile(args["pattern"], flags)
    except re.error as exc:
        raise ToolFailure(f"invalid regex {args['pattern']!r}: {exc}") from None
    base = env.workspace.resolve(args.get("path", "."))
    if not base.exists():
        raise ToolFailure(f"path not found: {args.get('path')}")
    limit = int(args.get("max_results", 100))
    found = await trio.to_thread.run_sync(
        _search, env.workspace, base, pattern, args.get("glob_filter", "*"), limit)
    return "\n".join(found) if found else "no matches"


def _search(workspace: Workspace, base: Path, pattern: re.Pattern[str], glob_filter: str,
            limit: int) -> list[str]:
    found: list[str] = []
    for path in _files(base, glob_filter):
        for number, line in _lines(path):
            if pattern.search(line):
                found.append(f"{workspace.relative(path)}:{number}:{line}")
                if len(found) >= limit:
                    return found
    return found


def _files(base: Path, glob_filter: str) -> list[Path]:
    if base.is_file():
        return [base]
    return sorted(p for p in base.rglob(glob_filter)
                  if p.is_file() and not p.is_symlink()
                  and not SKIPPED_DIRS.intersection(p.relative_to(base).parts))


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if b"\x00" in data[:8192]:
        return []
    return list(enumerate(data.decode("utf-8", errors="replace").splitlines(), 1))


GREP = define(
    "grep", "Search file contents in the workdir with a regex pattern.",
    {"pattern": {"type": "string"}, "path": {"type": "string"},
     "glob_filter": {"type": "string"}, "case_insensitive": {"type": "boolean"},
     "max_results": {"type": "integer", "minimum": 1}},
    ["pattern"], grep, limit=20_000, lines=200)
