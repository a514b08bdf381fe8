"""Parsers for the JSONL streams of the claude, codex and gemini CLIs (reference Part A.2).

``parse_stream(agent, lines)`` reads ``stdout.log`` line by line (never the
whole file at once) into a :class:`StreamResult`: the final answer text,
whether the agent itself reported an error, token usage, the number of tool
calls and the session id. Lines that are not JSON objects are counted and
skipped: a CLI may print plain warnings between events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from attrs import evolve, frozen


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


class StreamParser(Protocol):
    def feed(self, event: Mapping[str, Any]) -> None: ...

    def result(self) -> StreamResult: ...


class ClaudeParser:
    """``result`` carries the final answer; without one, the assistant text blocks are joined."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tools = self.inputs = self.outputs = 0
        self.final: Mapping[str, Any] | None = None

    def feed(self, event: Mapping[str, Any]) -> None:
        if event.get("type") == "result":
            self.final = event
            return
        if event.get("type") != "assistant":
            return
        message = _mapping(event.get("message"))
        for block in message.get("content") or ():
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                self.texts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                self.tools += 1
        usage = _mapping(message.get("usage"))
        self.inputs += _int(usage.get("input_tokens"))
        self.outputs += _int(usage.get("output_tokens"))

    def result(self) -> StreamResult:
        joined = "\n".join(self.texts)
        base = StreamResult(joined, input_tokens=self.inputs, output_tokens=self.outputs,
                            tool_calls=self.tools)
        if self.final is None:
            return base
        final = self.final
        failed = bool(final.get("is_error")) or str(final.get("subtype", "success")) != "success"
        text = str(final.get("result") or joined)
        error = f"claude ended with {final.get('subtype')}: {text[:300]}" if failed else ""
        return evolve(base, text=text, is_error=failed, error=error,
                      session_id=str(final.get("session_id", "")))


class CodexParser:
    """The last ``agent_message`` is the answer; ``turn.failed`` / ``error`` mark a failure."""

    def __init__(self) -> None:
        self.text = self.error = self.session = ""
        self.tools = self.inputs = self.outputs = 0

    def feed(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        item = _mapping(event.get("item"))
        if kind == "thread.started":
            self.session = str(event.get("thread_id", ""))
        elif kind == "item.completed" and item.get("type") == "agent_message":
            self.text = str(item.get("text", ""))
        elif kind == "item.started" and item.get("type") in ("command_execution",
                                                               "mcp_tool_call"):
            self.tools += 1
        elif kind == "turn.completed":
            usage = _mapping(event.get("usage"))
            self.inputs += _int(usage.get("input_tokens"))
            self.outputs += _int(usage.get("output_tokens"))
        elif kind == "turn.failed":
            self.error = str(_mapping(event.get("error")).get("message", "turn failed"))
        elif kind == "error":
            self.error = str(event.get("message", "error"))

    def result(self) -> StreamResult:
        return StreamResult(self.text, bool(self.error), self.error, self.inputs, self.outputs,
                            self.tools, self.session)


class GeminiParser:
    """Assistant ``message`` pieces (deltas are concatenated) and the closing ``result``."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.tools = self.inputs = self.outputs = 0
        self.session = self.error = ""
        self.failed = False

    def feed(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.session = str(event.get("session_id", ""))
        elif kind == "message" and event.get("role") == "assistant":
            self.pieces.append(str(event.get("content", "")))
        elif kind == "tool_use":
            self.tools += 1
        elif kind == "result":
            stats = _mapping(event.get("stats"))
            self.inputs = _int(stats.get("input_tokens"))
            self.outputs = _int(stats.get("output_tokens"))
            if event.get("status") not in (None, "success"):
                self.failed = True
                self.error = str(_mapping(event.get("error")).get("message")
                                 or f"gemini ended with status {event.get('status')}")

    def result(self) -> StreamResult:
        return StreamResult("".join(self.pieces), self.failed, self.error, self.inputs,
                            self.outputs, self.tools, self.session)


PARSERS: Mapping[str, Callable[[], StreamParser]] = {
    "claude": ClaudeParser, "codex": CodexParser, "gemini": GeminiParser}


def parse_stream(agent: str, lines: Iterable[str]) -> StreamResult:
    parser = PARSERS[agent]()
    events = bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict):
            events += 1
            parser.feed(value)
        else:
            bad += 1
    return evolve(parser.result(), events=events, bad_lines=bad)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
