"""``read_file``: a file's lines, numbered ``NNN | text``, from ``offset`` for ``limit`` lines."""

from __future__ import annotations

from typing import Any

from .base import ToolEnv, ToolFailure, define

DEFAULT_LINES = 2000


async def read_file(args: dict[str, Any], env: ToolEnv) -> str:
    path = env.workspace.resolve(args["file_path"])
    if not path.is_file():
        raise ToolFailure(f"file not found: {args['file_path']}")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ToolFailure(f"binary file, not shown: {args['file_path']}")
    lines = data.decode("utf-8", errors="replace").splitlines()
    start = max(int(args.get("offset", 1)), 1)
    count = int(args.get("limit", DEFAULT_LINES))
    chosen = lines[start - 1:start - 1 + count]
    return "\n".join(f"{number:>4} | {text}" for number, text in enumerate(chosen, start))


READ_FILE = define(
    "read_file", "Read a file from the workdir. Returns line-numbered content.",
    {"file_path": {"type": "string", "description": "path, absolute or relative to the workdir"},
     "offset": {"type": "integer", "minimum": 1, "description": "1-based first line"},
     "limit": {"type": "integer", "minimum": 1, "description": "max lines (default 2000)"}},
    ["file_path"], read_file, limit=50_000, mode="head_tail")
