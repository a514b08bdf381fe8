"""Parsers for the JSONL streams of the claude, codex and gemini CLIs (reference Part A.2).

Each parser reads the whole ``stdout.log`` into a :class:`StreamResult`:
the final answer text, whether the agent itself reported an error, token
usage and the number of tool calls. Lines that are not JSON objects are
counted and skipped: a CLI may print plain warnings between events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import frozen


@frozen
class StreamResult:
    text: str = ""
    is_error: bool = False
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    session_id: str = ""
    events: int = 0
    bad_lines: int = 0


def events_of(lines: Iterable[str]) -> tuple[list[Mapping[str, Any]], int]:
    events: list[Mapping[str, Any]] = []
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict):
            events.append(value)
        else:
            bad += 1
    return events, bad


def parse_claude(events: list[Mapping[str, Any]]) -> StreamResult:
    """``result`` carries the final answer; without one, the assistant text blocks are joined."""
    texts: list[str] = []
    tools = inputs = outputs = 0
    final: Mapping[str, Any] | None = None
    for event in events:
        kind = event.get("type")
        if kind == "assistant":
            message = _mapping(event.get("message"))
            for block in message.get("content") or ():
                if isinstance(block, dict) and block.get("type") == "text":
                    texts.append(str(block.get("text", "")))
                elif isinstance(block, dict) and block.get("type") == "tool_use":
                    tools += 1
            usage = _mapping(message.get("usage"))
            inputs += _int(usage.get("input_tokens"))
            outputs += _int(usage.get("output_tokens"))
        elif kind == "result":
            final = event
    if final is None:
        return StreamResult("\n".join(texts), tool_calls=tools, input_tokens=inputs,
                            output_tokens=outputs)
    failed = bool(final.get("is_error")) or str(final.get("subtype", "success")) != "success"
    text = str(final.get("result") or "\n".join(texts))
    return StreamResult(text, failed, f"claude ended with {final.get('subtype')}: {text[:300]}"
                        if failed else "", inputs, outputs, tools, str(final.get("session_id", "")))


def parse_codex(events: list[Mapping[str, Any]]) -> StreamResult:
    """The last ``agent_message`` is the answer; ``turn.failed`` / ``error`` mark a failure."""
    text = error = session = ""
    tools = inputs = outputs = 0
    for event in events:
        kind = event.get("type")
        item = _mapping(event.get("item"))
        if kind == "thread.started":
            session = str(event.get("thread_id", ""))
        elif kind == "item.completed" and item.get("type") == "agent_message":
            text = str(item.get("text", ""))
        elif kind == "item.started" and item.get("type") in ("command_execution",
                                                               "mcp_tool_call"):
            tools += 1
        elif kind == "turn.completed":
            usage = _mapping(event.get("usage"))
            inputs += _int(usage.get("input_tokens"))
            outputs += _int(usage.get("output_tokens"))
        elif kind == "turn.failed":
            error = str(_mapping(event.get("error")).get("message", "turn failed"))
        elif kind == "error":
            error = str(event.get("message", "error"))
    return StreamResult(text, bool(error), error, inputs, outputs, tools, session)


def parse_gemini(events: list[Mapping[str, Any]]) -> StreamResult:
    """Assistant ``message`` pieces (deltas are concatenated) and the closing ``result``."""
    pieces: list[str] = []
    tools = inputs = outputs = 0
    session = error = ""
    failed = False
    for event in events:
        kind = event.get("type")
        if kind == "init":
            session = str(event.get("session_id", ""))
        elif kind == "message" and event.get("role") == "assistant":
            pieces.append(str(event.get("content", "")))
        elif kind == "tool_use":
            tools += 1
        elif kind == "result":
            stats = _mapping(event.get("stats"))
            inputs, outputs = _int(stats.get("input_tokens")), _int(stats.get("output_tokens"))
            if event.get("status") not in (None, "success"):
                failed = True
                error = str(_mapping(event.get("error")).get("message")
                            or f"gemini ended with status {event.get('status')}")
    return StreamResult("".join(pieces), failed, error, inputs, outputs, tools, session)


PARSERS: Mapping[str, Callable[[list[Mapping[str, Any]]], StreamResult]] = {
    "claude": parse_claude, "codex": parse_codex, "gemini": parse_gemini}


def parse_stream(agent: str, text: str) -> StreamResult:
    events, bad = events_of(text.splitlines())
    result = PARSERS[agent](events)
    return StreamResult(result.text, result.is_error, result.error, result.input_tokens,
                        result.output_tokens, result.tool_calls, result.session_id,
                        len(events), bad)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
