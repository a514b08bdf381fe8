"""Conversation threads for ``full`` context fidelity (spec §5.3 step 6, §5.4).

A stage whose fidelity resolves to ``full`` continues a thread: the
messages of the earlier ``full`` stages on the same thread key (their
prompts, assistant replies, tool calls and results) go before its own
prompt. The key is, first found: the node's ``thread_id``, the incoming
edge's ``thread_id``, the graph's ``thread_id``, the node's first class
(derived from its enclosing subgraph), the previous node's id.

A finished ``full`` stage saves its conversation under its thread key and
under its own node id, so that the next stage's fallback key (the
previous node) continues it. Threads live in memory, in the backend
instance of one run, keyed by run id and parallel branch. After a resume
they are gone: the first stage that would continue a thread that earlier
stages on disk used gets ``summary:high`` instead, for that one hop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from attractor_core.sdk import Context, Edge, Node, StageRun, Warning
from attractor_plugins.llm.types import ContentPart, Message, Role

from .fidelity import last_arrival
from .stage_prompt import fidelity_for

DEGRADED_MODE = "summary:high"
# Thread history above this many characters of text is compacted (about 50k tokens);
# a node may set its own budget with ``fidelity.full_max_chars``.
DEFAULT_MAX_CHARS = 200_000


@frozen
class ThreadPlan:
    """What a stage carries: its prompt's mode, and the thread it continues when ``full``."""

    mode: str
    requested: str
    thread_key: str = ""
    history: tuple[Message, ...] = ()
    degraded: str = ""
    compacted: int = 0  # messages of the thread replaced by the compaction note

    def describe(self) -> dict[str, Any]:
        """The decision, as written into ``api_request.json``."""
        return {"mode": self.mode, "requested": self.requested, "thread_key": self.thread_key,
                "history_messages": len(self.history), "degraded": self.degraded,
                "compacted_messages": self.compacted}


def _size(message: Message) -> int:
    total = 0
    for part in message.content:
        total += len(part.text or "")
        if part.tool_call is not None:
            total += len(str(part.tool_call.arguments))
        if part.tool_result is not None:
            total += len(str(part.tool_result.content))
    return total


def _is_turn_start(message: Message) -> bool:
    """A user message that is not a tool result: cutting here never splits a tool call."""
    return message.role is Role.USER and all(
        p.tool_result is None for p in message.content)


def compact(history: tuple[Message, ...], max_chars: int) -> tuple[tuple[Message, ...], int]:
    """Keep the newest whole turns that fit in half the budget; a note replaces the rest.

    Returns the new history and how many messages were dropped (0: nothing to do).
    """
    if sum(_size(m) for m in history) <= max_chars:
        return history, 0
    kept, budget = 0, max_chars // 2
    cut = len(history)
    for index in range(len(history) - 1, -1, -1):
        kept += _size(history[index])
        if kept > budget:
            break
        if _is_turn_start(history[index]):
            cut = index
    dropped = history[:cut]
    topics = [(p.text or "")[:160].replace("\n", " ") for m in dropped if _is_turn_start(m)
              for p in m.content if p.text][:20]
    note = Message(Role.USER, (ContentPart.of_text(
        f"[Earlier conversation compacted: {len(dropped)} messages of this thread were "
        "removed to stay within the context budget. The earlier requests began:\n- "
        + "\n- ".join(topics or ["(no text)"]) + "]"),))
    return (note, *history[cut:]), len(dropped)


def thread_key(node: Node, edge: Edge | None, graph_thread: str, previous: str) -> str:
    """Spec §5.4 thread resolution; the node's own id when nothing else names a thread."""
    candidates = (node.thread_id, edge.thread_id if edge else "", graph_thread,
                  node.classes[0] if node.classes else "", previous)
    return next((c.strip() for c in candidates if c.strip()), node.id)


class ThreadStore:
    """The conversations of one backend instance's ``full`` threads, per run and branch."""

    def __init__(self) -> None:
        self._threads: dict[tuple[str, str, str], tuple[Message, ...]] = {}
        self._stage_dirs: set[Path] = set()  # stage dirs whose stages ran in this process

    def plan(self, node: Node, context: Context, run: StageRun) -> ThreadPlan:
        self._stage_dirs.add(run.stage_dir)
        mode = fidelity_for(node, context, run)
        if mode != "full":
            return ThreadPlan(mode, mode)
        edge, previous = last_arrival(run.logs_root, run.dot_path, node, run.branch_key)
        key = thread_key(node, edge, context.get_string("graph.thread_id"), previous)
        history = self._threads.get((run.run_id, run.branch_key, key))
        if history is not None:
            budget = node.get_int("fidelity.full_max_chars") or DEFAULT_MAX_CHARS
            history, dropped = compact(history, budget)
            return ThreadPlan(mode, mode, key, history, compacted=dropped)
        if self._lost_before_resume(run, key):
            reason = (f"thread {key!r} was used before the run resumed; its conversation is not "
                      f"kept across a resume, so this stage gets {DEGRADED_MODE}")
            run.emit(Warning(f"fidelity degraded: {reason}", node.id))
            return ThreadPlan(DEGRADED_MODE, mode, key, (), reason)
        return ThreadPlan(mode, mode, key)

    def save(self, run: StageRun, node: Node, plan: ThreadPlan,
             messages: Sequence[Message]) -> None:
        """Keep a finished ``full`` stage's conversation under its thread key and node id."""
        if plan.requested != "full":
            return
        for name in dict.fromkeys((plan.thread_key, node.id)):
            self._threads[(run.run_id, run.branch_key, name)] = tuple(messages)

    def _lost_before_resume(self, run: StageRun, key: str) -> bool:
        """Did a stage this process did not run use thread ``key`` (read from its api_request)?"""
        for request in run.stage_dir.parent.glob("*/api_request.json"):
            stage_dir = request.parent
            if stage_dir in self._stage_dirs:
                continue
            decided = _fidelity_record(request)
            if decided.get("requested") == "full" and key in (decided.get("thread_key"),
                                                              stage_dir.name):
                return True
        return False


def _fidelity_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    record = data.get("fidelity") if isinstance(data, dict) else None
    return record if isinstance(record, dict) else {}
