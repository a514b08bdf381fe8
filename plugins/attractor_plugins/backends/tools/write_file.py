"""``write_file``: create or replace a file in the workdir, parents included."""

from __future__ import annotations

from typing import Any

from .base import ToolEnv, define


async def write_file(args: dict[str, Any], env: ToolEnv) -> str:
    path = env.workspace.resolve(args["file_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    data = args["content"].encode("utf-8")
    path.write_bytes(data)
    return f"wrote {len(data)} bytes to {env.workspace.relative(path)}"


WRITE_FILE = define(
    "write_file", "Write content to a file in the workdir. Creates parent directories.",
    {"file_path": {"type": "string"}, "content": {"type": "string"}},
    ["file_path", "content"], write_file, limit=1_000)
