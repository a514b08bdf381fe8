"""Lint rules about what a pipeline spells: attribute names, shapes, node declarations.

``unknown_attribute`` (warning): an attribute that nothing declares through
the ``attractor_attribute_schema`` hook, nor Graphviz, is most likely a
typo that the run would silently ignore. A node is checked against what
every node takes plus what its own handler declares, so a tool attribute on
an LLM node is named as such; nodes of a handler type that declares nothing
are not checked. ``shape_known``: a shape outside the spec's table makes the
node an LLM stage; an error for a word that is no Graphviz shape (``boxx``),
a warning for a real shape (``trapezium``), which kilroy pipelines use.
``node_redeclared`` (warning): two node statements with attributes for one
id are merged, which is rarely meant.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence

from attractor_core.attributes import ANY_NODE, EDGE, GRAPH, AttributeSchema
from attractor_core.model import SHAPE_TO_TYPE, Graph, Node
from attractor_core.validation import graphviz_names
from attractor_core.validation.diagnostics import Diagnostic, Severity

_SHAPE_OF_TYPE = {handler_type: shape for shape, handler_type in SHAPE_TO_TYPE.items()}
_DOCS = "docs/dot-reference.md"


# Close enough to be a slip of the keyboard (tool_comand, colour, outcom); a looser
# match mostly suggests an unrelated attribute.
_CUTOFF = 0.8


def closest(name: str, *pools: Collection[str]) -> str:
    """The best close match of ``name`` in the first pool that has one, else ""."""
    import difflib  # only when a name is unknown

    for pool in pools:
        match = difflib.get_close_matches(name, sorted(pool), n=1, cutoff=_CUTOFF)
        if match:
            return match[0]
    return ""


def _did_you_mean(name: str, *pools: Collection[str], native: str = "") -> str:
    if native:
        return f" (attractor calls it {native!r})"
    match = closest(name, *pools)
    return f" (did you mean {match!r}?)" if match else ""


class UnknownAttributeRule:
    """``unknown_attribute``, with the schema the plugins declared."""

    name = "unknown_attribute"

    def __init__(self, schema: AttributeSchema):
        self.schema = schema

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        found = [d for node in graph.nodes.values() for d in self._node(node)]
        found += [d for edge in graph.edges for d in self._edge(edge.source, edge.target,
                                                                  edge.attrs, edge.line)]
        found += list(self._graph(graph))
        return found

    def _node(self, node: Node) -> Iterator[Diagnostic]:
        handler_type = node.handler_type
        if not self.schema.declares(handler_type):
            return
        known = self.schema.node_names(handler_type)
        for key in _unknown(node.attrs, known, graphviz_names.NODE):
            message, fix = self._node_text(node, key, known)
            yield Diagnostic(self.name, Severity.WARNING, message, node_id=node.id, fix=fix,
                             line=node.line)

    def _node_text(self, node: Node, key: str, known: frozenset[str]) -> tuple[str, str]:
        kind = f"{node.handler_type} node"
        owners = self.schema.handler_types_reading(key)
        if owners:
            where = " or ".join(owners)
            shape = _SHAPE_OF_TYPE.get(owners[0])
            how = f"shape={shape} or type={owners[0]}" if shape else f"type={owners[0]}"
            return (f"node {node.id} ({kind}): attribute {key!r} is read only by {where} "
                    "nodes, so the run ignores it here",
                    f"give {node.id} {how}, or remove {key}")
        own = sorted(self.schema.names(node.handler_type))
        listed = f" {node.handler_type} nodes read {', '.join(own)};" if own else ""
        native = self.schema.native_name(key, ANY_NODE, node.handler_type)
        return (f"node {node.id} ({kind}): unknown attribute {key!r}, ignored by the run"
                + _did_you_mean(key, known, graphviz_names.NODE, native=native),
                f"fix the name or remove it;{listed} every node reads the attributes in "
                f"{_DOCS}")

    def _edge(self, source: str, target: str, attrs: Mapping[str, str],
              line: int) -> Iterator[Diagnostic]:
        known = self.schema.names(EDGE)
        for key in _unknown(attrs, known, graphviz_names.EDGE):
            yield Diagnostic(
                self.name, Severity.WARNING,
                f"edge {source} -> {target}: unknown attribute {key!r}, ignored by the run"
                + _did_you_mean(key, known, graphviz_names.EDGE,
                                native=self.schema.native_name(key, EDGE)),
                edge=(source, target), line=line,
                fix=f"fix the name or remove it; edges read {', '.join(sorted(known))}")

    def _graph(self, graph: Graph) -> Iterator[Diagnostic]:
        known = self.schema.names(GRAPH)
        for key in _unknown(graph.attrs, known, graphviz_names.GRAPH):
            yield Diagnostic(
                self.name, Severity.WARNING,
                f"unknown graph attribute {key!r}, ignored by the run"
                + _did_you_mean(key, known, graphviz_names.GRAPH,
                                native=self.schema.native_name(key, GRAPH)),
                line=graph.attr_lines.get(key, 1),
                fix=f"fix the name or remove it (graph attributes are listed in {_DOCS})")


def _unknown(attrs: Mapping[str, str], known: frozenset[str],
             graphviz: frozenset[str]) -> list[str]:
    return [key for key in attrs if key not in known and key not in graphviz]


def shape_known(graph: Graph) -> list[Diagnostic]:
    shapes = ", ".join(SHAPE_TO_TYPE)
    out: list[Diagnostic] = []
    for node in graph.nodes.values():
        shape = node.attrs.get("shape")
        # An explicit type picks the handler; the shape is then only drawn.
        if shape is None or shape in SHAPE_TO_TYPE or node.type or node.attrs.get("node_type"):
            continue
        # A real Graphviz shape runs as an LLM stage, as the spec's default says, and
        # real pipelines draw stages that way: a warning. A word that is no shape at all
        # is a typo: an error.
        drawable = shape in graphviz_names.SHAPES
        what = ("picks no handler" if drawable
                else "is not a shape" + _did_you_mean(shape, SHAPE_TO_TYPE))
        out.append(Diagnostic(
            "shape_known", Severity.WARNING if drawable else Severity.ERROR,
            f"node {node.id}: shape {shape!r} {what}; the node would run as an LLM stage",
            node_id=node.id, line=node.line,
            fix=f"use a shape of the handler table ({shapes}), or set type=... to choose the "
                "handler and keep the shape for drawing"))
    return out


def node_redeclared(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node_id, lines in graph.redeclared.items():
        where = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
        out.append(Diagnostic(
            "node_redeclared", Severity.WARNING,
            f"node {node_id} is declared with attributes on lines {where}: DOT merges them "
            "into one node, and where two declarations set the same attribute the later wins",
            node_id=node_id, line=lines[1],
            fix=f"keep one declaration of {node_id} with all its attributes (or rename one "
                "of the nodes if they were meant to be different stages)"))
    return out
