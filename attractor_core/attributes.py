"""The attribute schema: which attributes a pipeline may set, and where.

Every part that reads attributes declares them through the
``attractor_attribute_schema`` hook: the kernel its own (spec §2.5–2.7),
each handler plugin those of the node types it handles, a codergen
backend those it reads on codergen nodes. The declarations feed the
``unknown_attribute`` lint (a typo is named with a did-you-mean) and are
the single list of what exists, with type, default and a one-line doc.

A declaration is keyed by where the attribute is written: a handler type
(``"tool"``, ``"codergen"``...) for nodes of that type, :data:`ANY_NODE`
for every node, :data:`EDGE` for edges, :data:`GRAPH` for the graph. No
handler type may use these three names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from attractor_core.records import Record

if TYPE_CHECKING:
    import pluggy

ANY_NODE = "*"
EDGE = "edge"
GRAPH = "graph"


class AttributeSpec(Record):
    """One attribute: its name, value type (``string``, ``integer``, ``boolean``,
    ``duration``, ``float``, ``node id``, ``condition``, ``json``, ``comma list``,
    or ``a|b|c`` for a choice), its default as written in DOT (``""`` when unset),
    a one-line description, and the names other pipeline runners give it (kilroy's
    ``max_agent_turns``), which the lint answers with this name. ``stylesheet``: a
    node attribute the model stylesheet may set (``llm_model`` and the like)."""

    __match_args__ = __slots__ = ("name", "type", "default", "doc", "other_names", "stylesheet")
    name: str
    type: str
    default: str
    doc: str
    other_names: tuple[str, ...]
    stylesheet: bool

    def __init__(self, name: str, type: str = "string", default: str = "",
                 doc: str = "", other_names: tuple[str, ...] = (),
                 stylesheet: bool = False) -> None:
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "type", type)
        setter(self, "default", default)
        setter(self, "doc", doc)
        setter(self, "other_names", other_names)
        setter(self, "stylesheet", stylesheet)


Declarations = Mapping[str, Sequence[AttributeSpec]]


class AttributeSchema(Record):
    """Every declared attribute, merged over all plugins: ``by_key[key][name]``."""

    __match_args__ = __slots__ = ("by_key",)
    by_key: Mapping[str, Mapping[str, AttributeSpec]]

    def __init__(self, by_key: Mapping[str, Mapping[str, AttributeSpec]]) -> None:
        object.__setattr__(self, "by_key", by_key)

    @classmethod
    def merge(cls, contributions: Iterable[Declarations]) -> AttributeSchema:
        merged: dict[str, dict[str, AttributeSpec]] = {}
        for contribution in contributions:
            for key, specs in contribution.items():
                merged.setdefault(key, {}).update((spec.name, spec) for spec in specs)
        return cls(merged)

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> AttributeSchema:
        # pluggy answers last-registered first; merge in registration order so later wins.
        return cls.merge(reversed(pm.hook.attractor_attribute_schema()))

    def declares(self, key: str) -> bool:
        """Whether anything declared attributes under ``key`` (a handler type, EDGE, GRAPH)."""
        return key in self.by_key

    def specs(self, *keys: str) -> dict[str, AttributeSpec]:
        """The attributes declared under any of ``keys``, by name."""
        return {name: spec for key in keys for name, spec in self.by_key.get(key, {}).items()}

    def stylesheet_properties(self) -> frozenset[str]:
        """The node attributes declared settable by the model stylesheet."""
        return frozenset(spec.name for key, specs in self.by_key.items()
                         if key not in (EDGE, GRAPH)
                         for spec in specs.values() if spec.stylesheet)

    def names(self, key: str) -> frozenset[str]:
        return frozenset(self.by_key.get(key, {}))

    def node_names(self, handler_type: str) -> frozenset[str]:
        """What a node run by ``handler_type`` may set: every node's, plus its handler's."""
        return self.names(ANY_NODE) | self.names(handler_type)

    def native_name(self, foreign: str, *keys: str) -> str:
        """The attribute declared under ``keys`` that another runner calls ``foreign``, or ""."""
        for spec in self.specs(*keys).values():
            if foreign in spec.other_names:
                return spec.name
        return ""

    def handler_types_reading(self, name: str) -> list[str]:
        """The handler types that declare node attribute ``name``, sorted."""
        return sorted(k for k, specs in self.by_key.items()
                      if name in specs and k not in (ANY_NODE, EDGE, GRAPH))
