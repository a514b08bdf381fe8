"""Pipeline graphs as SVG or PNG, node states coloured, through pydot and a Graphviz ``dot``.

Attractor DOT is not Graphviz DOT (``timeout=900s``, qualified keys such as
``human.default_choice``), so the picture is drawn from the parsed model,
keeping only the attributes Graphviz knows: label, shape, and the colours
of the node states.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attractor_core.sdk import Graph, UsageError

STATES = ("pending", "running", "succeeded", "failed", "retried")
COLOURS = {"pending": "#ffffff", "running": "#fff3a6", "succeeded": "#c9efc9",
           "failed": "#f5b7b1", "retried": "#fcd7a4"}
# Shapes Graphviz draws; Attractor uses these names to pick handlers.
GRAPHVIZ_SHAPES = frozenset({
    "box", "rect", "rectangle", "square", "ellipse", "oval", "circle", "doublecircle",
    "diamond", "Mdiamond", "Msquare", "Mcircle", "hexagon", "octagon", "doubleoctagon",
    "tripleoctagon", "parallelogram", "trapezium", "house", "invhouse", "component", "note",
    "tab", "folder", "box3d", "cylinder", "plaintext", "plain", "none", "point", "egg",
    "triangle", "invtriangle", "pentagon", "septagon", "star", "underline", "cds",
})


def node_states(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each node's state after these events (nodes never started are absent: pending)."""
    states: dict[str, str] = {}
    for event in events:
        kind = event.get("event")
        node = str(event.get("node_id", ""))
        if not node:
            continue
        if kind == "stage_attempt_start":
            states[node] = "running"
        elif kind == "stage_attempt_end":
            status = str(event.get("status", ""))
            attempt = int(event.get("attempt", 1) or 1)
            if status in ("success", "partial_success", "skipped"):
                states[node] = "retried" if attempt > 1 else "succeeded"
            elif status == "retry":
                states[node] = "retried"
            else:
                states[node] = "failed"
    return states


def to_pydot(graph: Graph, states: Mapping[str, str]) -> Any:
    import pydot

    picture = pydot.Dot(graph_name="pipeline", graph_type="digraph", rankdir="TB")
    picture.set_node_defaults(fontname="Helvetica", fontsize="11", style="filled",
                              fillcolor=COLOURS["pending"])
    picture.set_edge_defaults(fontname="Helvetica", fontsize="9")
    for node in graph.nodes.values():
        state = states.get(node.id, "pending")
        shape = node.attrs.get("shape", "box")
        drawn = pydot.Node(_quoted(node.id))
        for key, value in (("label", _quoted(node.attrs.get("label") or node.id)),
                           ("shape", shape if shape in GRAPHVIZ_SHAPES else "box"),
                           ("fillcolor", _quoted(COLOURS[state])),
                           ("tooltip", _quoted(f"{node.id}: {state}")),
                           ("class", _quoted(f"state-{state}"))):
            drawn.set(key, value)
        picture.add_node(drawn)
    for edge in graph.edges:
        line = pydot.Edge(_quoted(edge.source), _quoted(edge.target))
        if edge.attrs.get("label"):
            line.set("label", _quoted(edge.attrs["label"]))
        picture.add_edge(line)
    return picture


def _quoted(text: str) -> str:
    """A DOT string literal (pydot passes values through as written)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_program() -> str:
    """graphviz-pure's binary installed next to this interpreter, else ``dot`` on PATH."""
    beside = Path(sys.executable).parent / "graphviz-pure"
    for candidate in (str(beside), shutil.which("graphviz-pure"), shutil.which("dot")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise UsageError("no Graphviz 'dot' found: install 'attractor-plugins[server]' "
                     "(graphviz-pure) or Debian's graphviz")


def render(graph: Graph, states: Mapping[str, str], fmt: str = "svg") -> bytes:
    """The graph drawn by Graphviz in ``fmt`` (``svg`` or ``png``)."""
    if fmt not in ("svg", "png"):
        raise UsageError(f"cannot render {fmt!r}: use svg or png")
    data: bytes = to_pydot(graph, states).create(prog=dot_program(), format=fmt)
    return data
