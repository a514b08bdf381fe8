"""Parsers for the JSONL streams of the claude, codex and gemini CLIs (reference Part A.2).

``parse_stream(agent, lines)`` reads ``stdout.log`` line by line (never the
whole file at once) into a :class:`StreamResult`: the final answer text,
whether the agent itself reported an error, token usage (and the agent's own
cost when it gives one), the number of tool calls and the session id.
``usage_known`` is false when the stream carried no usage at all: the
tokens are then unknown, not 0. ``input_tokens`` counts every prompt token,
cached or not (claude reports cache reads and writes apart; they are added).
Lines that are not JSON objects are counted and skipped: a CLI may print
plain warnings between events.
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
    usage_known: bool = False
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None  # the agent's own figure (claude's total_cost_usd)
    model: str = ""  # the model the agent says it used, when it says


class StreamParser(Protocol):
    def feed(self, event: Mapping[str, Any]) -> None: ...

    def result(self) -> StreamResult: ...


class ClaudeParser:
    """``result`` carries the final answer; without one, the assistant text blocks are joined."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tools = self.inputs = self.outputs = 0
        self.final: Mapping[str, Any] | None = None
        self.model = ""
        self.seen_usage = False

    def feed(self, event: Mapping[str, Any]) -> None:
        if event.get("type") == "result":
            self.final = event
            return
        if event.get("type") == "system" and event.get("subtype") == "init":
            self.model = str(event.get("model") or "")
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
        self.seen_usage = self.seen_usage or bool(usage)
        self.inputs += _int(usage.get("input_tokens"))
        self.outputs += _int(usage.get("output_tokens"))

    def result(self) -> StreamResult:
        joined = "\n".join(self.texts)
        base = StreamResult(joined, input_tokens=self.inputs, output_tokens=self.outputs,
                            tool_calls=self.tools, usage_known=self.seen_usage,
                            model=self.model)
        if self.final is None:
            return base
        final = self.final
        failed = bool(final.get("is_error")) or str(final.get("subtype", "success")) != "success"
        text = str(final.get("result") or joined)
        error = f"claude ended with {final.get('subtype')}: {text[:300]}" if failed else ""
        base = evolve(base, text=text, is_error=failed, error=error,
                      session_id=str(final.get("session_id", "")),
                      cost_usd=_float(final.get("total_cost_usd")))
        usage = _mapping(final.get("usage"))
        if not usage:
            return base
        # The result line's usage covers the whole session (cache reads and writes apart).
        read = _int_or_none(usage.get("cache_read_input_tokens"))
        write = _int_or_none(usage.get("cache_creation_input_tokens"))
        return evolve(base, usage_known=True,
                      input_tokens=_int(usage.get("input_tokens")) + (read or 0) + (write or 0),
                      output_tokens=_int(usage.get("output_tokens")),
                      cache_read_tokens=read, cache_write_tokens=write)


class CodexParser:
    """The last ``agent_message`` is the answer; ``turn.failed`` / ``error`` mark a failure."""

    def __init__(self) -> None:
        self.text = self.error = self.session = ""
        self.tools = self.inputs = self.outputs = 0
        self.cached: int | None = None
        self.reasoning: int | None = None
        self.seen_usage = False

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
            self.seen_usage = self.seen_usage or bool(usage)
            self.inputs += _int(usage.get("input_tokens"))  # cached tokens included
            self.outputs += _int(usage.get("output_tokens"))
            self.cached = _add(self.cached, _int_or_none(usage.get("cached_input_tokens")))
            self.reasoning = _add(self.reasoning,
                                  _int_or_none(usage.get("reasoning_output_tokens")))
        elif kind == "turn.failed":
            self.error = str(_mapping(event.get("error")).get("message", "turn failed"))
        elif kind == "error":
            self.error = str(event.get("message", "error"))

    def result(self) -> StreamResult:
        return StreamResult(self.text, bool(self.error), self.error, self.inputs, self.outputs,
                            self.tools, self.session, usage_known=self.seen_usage,
                            reasoning_tokens=self.reasoning, cache_read_tokens=self.cached)


class GeminiParser:
    """Assistant ``message`` pieces (deltas are concatenated) and the closing ``result``."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.tools = self.inputs = self.outputs = 0
        self.session = self.error = self.model = ""
        self.failed = False
        self.seen_usage = False
        self.cached: int | None = None

    def feed(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.session = str(event.get("session_id", ""))
            self.model = str(event.get("model") or "")
        elif kind == "message" and event.get("role") == "assistant":
            self.pieces.append(str(event.get("content", "")))
        elif kind == "tool_use":
            self.tools += 1
        elif kind == "result":
            stats = _mapping(event.get("stats"))
            self.seen_usage = "input_tokens" in stats or "output_tokens" in stats
            self.inputs = _int(stats.get("input_tokens"))
            self.outputs = _int(stats.get("output_tokens"))
            self.cached = _int_or_none(stats.get("cached"))
            if event.get("status") not in (None, "success"):
                self.failed = True
                self.error = str(_mapping(event.get("error")).get("message")
                                 or f"gemini ended with status {event.get('status')}")

    def result(self) -> StreamResult:
        return StreamResult("".join(self.pieces), self.failed, self.error, self.inputs,
                            self.outputs, self.tools, self.session, usage_known=self.seen_usage,
                            cache_read_tokens=self.cached, model=self.model)


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


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _add(total: int | None, more: int | None) -> int | None:
    return more if total is None else total + (more or 0)
