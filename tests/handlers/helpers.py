"""Helpers for driving one node through the handler the installed plugins register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from attractor_core.dot.parser import parse_dot
from attractor_core.model import Context, Graph, Outcome
from attractor_core.registry import HandlerRegistry


async def run_node(
    dot: str | Graph, node_id: str, run: Any, context: Context | None = None,
    registry: HandlerRegistry | None = None,
) -> Outcome | None:
    """Resolve ``node_id``'s handler as the engine would and execute it once.

    Pass the same ``registry`` to several calls to keep handler instances
    (and so a run's interviewer) across gates, as one engine run does.
    """
    graph = parse_dot(dot) if isinstance(dot, str) else dot
    node = graph.node(node_id)
    handler = (registry or HandlerRegistry.from_plugins(run.pm)).resolve(node)
    result: Outcome | None = await handler.execute(node, context or Context(), graph, run)
    return result


def events_named(run: Any, name: str) -> list[Any]:
    return [e for e in run.events if e.name == name]


def alive(pid: int) -> bool:
    """True while ``pid`` is a running process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z"


async def survivors(pids: list[int]) -> list[int]:
    """The pids still alive after giving SIGKILL (delivered asynchronously) up to 10 s to act."""
    with trio.move_on_after(10):
        while any(alive(pid) for pid in pids):
            await trio.sleep(0.01)
    return [pid for pid in pids if alive(pid)]


async def wait_for_lines(path: Path, count: int) -> list[int]:
    """Wait until ``path`` holds ``count`` pid lines (bounded, so a broken tool cannot hang us)."""
    with trio.fail_after(60):
        while True:
            if path.exists():
                lines = path.read_text().split()
                if len(lines) >= count:
                    return [int(x) for x in lines[:count]]
            await trio.sleep(0.01)
