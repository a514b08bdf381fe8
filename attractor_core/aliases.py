"""Attribute aliases of another Attractor dialect (kilroy's), read as our names.

Applied to every node before the transforms, so ``$goal`` expansion and
validation see the canonical attribute. Every alias is listed in
docs/dot-reference.md.

* ``llm_prompt`` is read as ``prompt``; ``prompt`` wins when both are set.
* ``node_type`` is read as ``type`` when it names an installed handler type
  and ``type`` is unset. Other values (kilroy's ``stack.steer`` or
  ``stack.observe`` annotations) name no handler and are left alone, so the
  node keeps the handler its shape gives it.
"""

from __future__ import annotations

from collections.abc import Collection

from attractor_core.model import Graph, Node
from attractor_core.records import evolve

PLAIN_ALIASES: tuple[tuple[str, str], ...] = (("llm_prompt", "prompt"),)
TYPE_ALIAS = "node_type"


def apply_aliases(graph: Graph, handler_types: Collection[str]) -> Graph:
    """The graph with each node's aliased attributes copied to their canonical names."""
    nodes = {node_id: _resolved(node, handler_types) for node_id, node in graph.nodes.items()}
    if all(nodes[k] is graph.nodes[k] for k in nodes):
        return graph
    return graph.with_nodes(nodes)


def _resolved(node: Node, handler_types: Collection[str]) -> Node:
    added: dict[str, str] = {}
    for alias, canonical in PLAIN_ALIASES:
        if alias in node.attrs and canonical not in node.attrs:
            added[canonical] = node.attrs[alias]
    declared = node.attrs.get(TYPE_ALIAS, "").strip()
    if declared and "type" not in node.attrs and declared in handler_types:
        added["type"] = declared
    return evolve(node, attrs={**node.attrs, **added}) if added else node
