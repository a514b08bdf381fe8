"""Tool output truncation for the model (coding-agent-loop-spec §5.1–5.3): characters, then lines.

The marker says how much was removed, so the model never mistakes a cut
output for the whole one. The agent keeps the full output in its log.
"""

from __future__ import annotations


def truncate_chars(output: str, limit: int, mode: str) -> str:
    if len(output) <= limit:
        return output
    removed = len(output) - limit
    if mode == "head_tail":
        half = limit // 2
        return (output[:half]
                + f"\n\n[WARNING: Tool output was truncated. {removed} characters were removed "
                "from the middle. If you need to see specific parts, re-run the tool with more "
                "targeted parameters.]\n\n" + output[len(output) - half:])
    return (f"[WARNING: Tool output was truncated. First {removed} characters were removed.]\n\n"
            + output[-limit:])


def truncate_lines(output: str, limit: int) -> str:
    lines = output.split("\n")
    if len(lines) <= limit:
        return output
    head = limit // 2
    tail = limit - head
    omitted = len(lines) - head - tail
    return ("\n".join(lines[:head]) + f"\n[... {omitted} lines omitted ...]\n"
            + "\n".join(lines[-tail:]))


def truncate_tool_output(output: str, limit: int, mode: str, lines: int | None) -> str:
    """Characters first (a 2-line file of 10 MB lines must still be cut), then lines."""
    result = truncate_chars(output, limit, mode)
    return truncate_lines(result, lines) if lines is not None else result
