"""Automatic prompt-caching breakpoints for the Anthropic Messages API (spec §2.10).

Anthropic caches a request's prefix only up to blocks marked with
``cache_control``, and accepts at most four such breakpoints. For an agent,
whose requests repeat the system prompt, the tools and a growing
conversation, the breakpoints go on:

1. the system prompt (sent as one text block),
2. the last tool definition (the tools are one cached unit),
3. the last block of the newest message: this request's whole prefix is
   written to the cache, and
4. the last block of the user message before it: the prefix the previous
   request wrote, so this request reads it.

Breakpoints already present in the body (set through ``provider_options``)
count against the four. Thinking blocks and empty text blocks cannot carry
a breakpoint, so the last other block of a message gets it.
``provider_options.anthropic.auto_cache = false`` turns all of this off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_BREAKPOINTS = 4
EPHEMERAL = {"type": "ephemeral"}


def add_breakpoints(body: dict[str, Any]) -> dict[str, Any]:
    """Mark ``body`` (a Messages API request) in place and return it."""
    budget = MAX_BREAKPOINTS - sum(1 for _ in _marked(body))
    for block in _candidates(body):
        if budget <= 0:
            break
        if "cache_control" not in block:
            block["cache_control"] = dict(EPHEMERAL)
            budget -= 1
    return body


def _candidates(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    system = body.get("system")
    if isinstance(system, str) and system:
        body["system"] = [{"type": "text", "text": system}]
    if isinstance(body.get("system"), list) and body["system"]:
        yield body["system"][-1]
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        yield tools[-1]
    messages = [m for m in body.get("messages") or () if isinstance(m.get("content"), list)]
    if messages:
        last = _cacheable(messages[-1])
        if last is not None:
            yield last
        earlier_user = next((m for m in reversed(messages[:-1]) if m.get("role") == "user"),
                            None)
        if earlier_user is not None:
            block = _cacheable(earlier_user)
            if block is not None:
                yield block


def _cacheable(message: dict[str, Any]) -> dict[str, Any] | None:
    for block in reversed(message["content"]):
        if block.get("type") in ("thinking", "redacted_thinking"):
            continue
        if block.get("type") == "text" and not block.get("text"):
            continue
        return block  # type: ignore[no-any-return]
    return None


def _marked(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    blocks: list[Any] = []
    if isinstance(body.get("system"), list):
        blocks += body["system"]
    blocks += body.get("tools") or []
    for message in body.get("messages") or ():
        if isinstance(message.get("content"), list):
            blocks += message["content"]
    return (b for b in blocks if isinstance(b, dict) and "cache_control" in b)
