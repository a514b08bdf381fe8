"""``edit_file``: replace an exact string; it must be unique unless ``replace_all``."""

from __future__ import annotations

from typing import Any

from .base import ToolEnv, ToolFailure, define


async def edit_file(args: dict[str, Any], env: ToolEnv) -> str:
    path = env.workspace.resolve(args["file_path"])
    if not path.is_file():
        raise ToolFailure(f"file not found: {args['file_path']}")
    text = path.read_text(encoding="utf-8")
    old, new = args["old_string"], args["new_string"]
    count = text.count(old) if old else 0
    if count == 0:
        raise ToolFailure(f"old_string not found in {args['file_path']}")
    if count > 1 and not args.get("replace_all", False):
        raise ToolFailure(f"old_string occurs {count} times in {args['file_path']}; add "
                          "surrounding context to make it unique, or set replace_all")
    path.write_text(text.replace(old, new), encoding="utf-8")
    return f"replaced {count} occurrence(s) in {env.workspace.relative(path)}"


EDIT_FILE = define(
    "edit_file", "Replace an exact string occurrence in a file of the workdir.",
    {"file_path": {"type": "string"}, "old_string": {"type": "string"},
     "new_string": {"type": "string"}, "replace_all": {"type": "boolean"}},
    ["file_path", "old_string", "new_string"], edit_file, limit=10_000)
