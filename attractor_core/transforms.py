"""Graph transforms (spec §9.1–9.3), applied after parsing and before validation.

This module is one of the kernel's internal plugins: its
``attractor_transforms`` hook contributes the two built-in transforms,
``$goal`` expansion and then the model stylesheet. Because the kernel
registers it before any entry-point plugin, ``apply_transforms`` runs the
built-ins first and the custom ones after them, in registration order.
A transform returns a new graph and never mutates its input.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import pluggy

from attractor_core.attributes import AttributeSchema
from attractor_core.errors import AttractorError
from attractor_core.model import Graph, Node
from attractor_core.plugins import collect_in_registration_order, hookimpl
from attractor_core.records import evolve
from attractor_core.stylesheet import (
    PROPERTIES,
    Stylesheet,
    StylesheetSyntaxError,
    parse_stylesheet,
)

if TYPE_CHECKING:
    from attractor_core.protocols import Transform


class TransformError(AttractorError):
    """A custom transform raised or returned something that is not a Graph."""

    def __init__(self, transform_name: str, problem: str):
        self.transform_name = transform_name
        self.problem = problem
        super().__init__(f"transform {transform_name} failed: {problem}")


class ExpandGoal:
    """Replace ``$goal`` in every node's ``prompt`` with the graph's ``goal`` (spec §9.2)."""

    name = "expand_goal"

    def apply(self, graph: Graph) -> Graph:
        goal = graph.goal
        changed = {
            node_id: evolve(
                node, attrs={**node.attrs, "prompt": node.prompt.replace("$goal", goal)}
            )
            for node_id, node in graph.nodes.items()
            if "$goal" in node.prompt
        }
        if not changed:
            return graph
        return graph.with_nodes({**graph.nodes, **changed})


class ApplyStylesheet:
    """Give nodes the LLM properties they do not set themselves (spec §8.5).

    For each of ``llm_model``, ``llm_provider`` and ``reasoning_effort``: the
    node's own attribute, else the best stylesheet rule, else the graph
    attribute of the same name (so ``--set llm_model=...`` reaches every
    node). The properties plugins declare (``AttributeSpec(stylesheet=True)``,
    handed in by ``apply_transforms``) come from the node, else the
    stylesheet; their graph defaults are the plugin's to read. An invalid
    stylesheet contributes nothing; the ``stylesheet_syntax`` rule reports it
    with its line.
    """

    name = "apply_stylesheet"

    def __init__(self, properties: Collection[str] = PROPERTIES):
        self.properties = frozenset(properties)

    def apply(self, graph: Graph) -> Graph:
        sheet = _stylesheet_or_empty(graph.model_stylesheet, self.properties)
        defaults = {k: graph.attrs[k] for k in PROPERTIES if graph.attrs.get(k)}
        if not sheet.rules and not defaults:
            return graph
        nodes: dict[str, Node] = {}
        for node_id, node in graph.nodes.items():
            given = {**defaults, **sheet.properties_for(node)}
            extra = {k: v for k, v in given.items() if k not in node.attrs}
            nodes[node_id] = evolve(node, attrs={**node.attrs, **extra}) if extra else node
        return graph.with_nodes(nodes)


def _stylesheet_or_empty(text: str, properties: Collection[str]) -> Stylesheet:
    if not text.strip():
        return Stylesheet()
    try:
        return parse_stylesheet(text, properties)
    except StylesheetSyntaxError:
        return Stylesheet()


@hookimpl
def attractor_transforms() -> Sequence[Transform]:
    return [ExpandGoal(), ApplyStylesheet()]


def transform_name(transform: object) -> str:
    return str(getattr(transform, "name", "") or type(transform).__name__)


def apply_transforms(graph: Graph, pm: pluggy.PluginManager) -> Graph:
    """Run every transform of ``pm`` in order; raises :class:`TransformError` if one misbehaves."""
    for transform in collect_in_registration_order(pm.hook.attractor_transforms()):
        if isinstance(transform, ApplyStylesheet):  # it learns the plugins' properties here
            schema = AttributeSchema.from_plugins(pm)
            transform = ApplyStylesheet({*PROPERTIES, *schema.stylesheet_properties()})
        graph = _apply_one(transform, graph)
    return graph


def _apply_one(transform: Transform, graph: Graph) -> Graph:
    name = transform_name(transform)
    try:
        result = transform.apply(graph)
    except Exception as exc:
        raise TransformError(name, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(result, Graph):
        raise TransformError(name, f"returned {type(result).__name__}, expected a Graph")
    return result
