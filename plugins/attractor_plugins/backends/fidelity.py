"""Context fidelity (spec §5.4): how much of the run so far a codergen stage is told.

Resolution, highest first: the ``fidelity`` of the edge the run took into
the node, the node's ``fidelity``, the graph's ``default_fidelity``, then
``compact``. The edge taken is found from the run's own public record: the
last ``edge_selected`` event into the node (``progress.ndjson``, same
parallel branch), matched against the run's copy of the DOT file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attractor_core.sdk import FIDELITY_MODES, Edge, Graph, Node, ParseError, parse_file

DEFAULT_MODE = "compact"
_TAIL_BYTES = 1 << 20


def resolve_fidelity(edge_fidelity: str, node_fidelity: str, graph_default: str) -> str:
    """The first known mode of edge > node > graph default, else ``compact``."""
    for value in (edge_fidelity, node_fidelity, graph_default):
        mode = value.strip().lower()
        if mode in FIDELITY_MODES:
            return mode
    return DEFAULT_MODE


def incoming_edge(logs_root: Path, dot_path: Path | None, node: Node,
                  branch_key: str = "") -> Edge | None:
    """The edge the run last took into ``node``, or None (first node, unknown graph)."""
    return last_arrival(logs_root, dot_path, node, branch_key, only_with_fidelity=True)[0]


def run_graph(logs_root: Path, dot_path: Path | None) -> Graph | None:
    """The run's copy of its DOT file (else the file itself), parsed; None when unreadable."""
    copy = logs_root / "graph.dot"
    source = copy if copy.exists() else dot_path
    if source is None:
        return None
    try:
        return parse_file(source)
    except ParseError:
        return None


def last_arrival(logs_root: Path, dot_path: Path | None, node: Node, branch_key: str = "", *,
                 only_with_fidelity: bool = False) -> tuple[Edge | None, str]:
    """The edge the run last took into ``node`` and the node it came from ("" when unknown)."""
    graph = run_graph(logs_root, dot_path)
    if graph is None:
        return None, ""
    incoming = graph.incoming(node.id)
    if only_with_fidelity and not any(edge.fidelity for edge in incoming):
        return None, ""  # nothing to find: the event log is not read
    event = _last_edge_event(logs_root / "progress.ndjson", node.id, branch_key)
    if event is None:
        return None, ""
    for edge in incoming:
        if (edge.source, edge.label, edge.condition) == (
                event.get("from_node"), event.get("label", ""), event.get("condition", "")):
            return edge, edge.source
    return None, str(event.get("from_node", ""))


def _last_edge_event(progress: Path, node_id: str, branch_key: str) -> dict[str, Any] | None:
    try:
        with progress.open("rb") as fh:
            start = max(0, fh.seek(0, 2) - _TAIL_BYTES)
            fh.seek(start)
            lines = fh.read().split(b"\n")
    except OSError:
        return None
    # The last piece is "" or a torn line; the first is partial when the read began mid-file.
    for line in reversed(lines[1 if start else 0:-1]):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (isinstance(event, dict) and event.get("event") == "edge_selected"
                and event.get("to_node") == node_id
                and event.get("branch_key", "") == branch_key):
            return event
    return None
