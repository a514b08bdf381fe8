"""Shared helpers for the front-end tests: build graphs from DOT text, run the kernel's rules."""

from __future__ import annotations

from attractor_core.dot import parse_dot
from attractor_core.model import Graph
from attractor_core.validation import Diagnostic, validate

VALID = """digraph G {
  graph [goal="ship it"]
  start [shape=Mdiamond]
  exit [shape=Msquare]
  work [prompt="Do $goal"]
  start -> work -> exit
}
"""


def diagnostics_for(source: str) -> list[Diagnostic]:
    return validate(parse_dot(source, "t.dot"))


def rules_for(source: str) -> set[str]:
    return {d.rule for d in diagnostics_for(source)}


def pipeline(body: str, graph_attrs: str = "") -> str:
    """A valid start -> ... -> exit skeleton with ``body`` spliced in."""
    return (
        "digraph G {\n"
        f"  {graph_attrs}\n"
        "  start [shape=Mdiamond]\n"
        "  exit [shape=Msquare]\n"
        f"{body}\n"
        "}\n"
    )


def graph_of(source: str) -> Graph:
    return parse_dot(source, "t.dot")
