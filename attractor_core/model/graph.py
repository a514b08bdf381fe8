"""The pipeline graph: frozen ``Graph``, ``Node`` and ``Edge`` value classes.

Attributes are kept verbatim as strings (unknown ones included, for
extensions); the properties give the spec's Appendix A attributes their
types. A malformed typed value raises :class:`ValueFormatError` naming the
node and attribute; the ``attribute_value`` lint rule reports the same
problem before a run starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TypeVar

from attractor_core.model.values import (
    Duration,
    ValueFormatError,
    parse_bool,
    parse_float,
    parse_int,
)
from attractor_core.records import Record, evolve

T = TypeVar("T")

# The spec's shape-to-handler table (§2.8) and its default handler (§4.2): the LLM stage
# runs a node whose shape the table lacks, and a node whose type no plugin provides.
DEFAULT_HANDLER_TYPE = "codergen"

SHAPE_TO_TYPE: Mapping[str, str] = {
    "Mdiamond": "start",
    "Msquare": "exit",
    "doublecircle": "exit",
    "box": DEFAULT_HANDLER_TYPE,
    "hexagon": "wait.human",
    "diamond": "conditional",
    "component": "parallel",
    "tripleoctagon": "parallel.fan_in",
    "parallelogram": "tool",
    "house": "stack.manager_loop",
}


def _typed(
    owner: _Typed, attributes: Mapping[str, str], key: str, parse: Callable[[str], T]
) -> T | None:
    raw = attributes.get(key)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueFormatError as exc:
        # The owner's name is built only here: most lookups find nothing to parse.
        raise ValueFormatError(f"{owner._owner()}: attribute {key}: {exc}") from None


class _Typed(Record):
    """Typed getters shared by nodes, edges and graphs."""

    __slots__ = ()
    attrs: Mapping[str, str]

    def _owner(self) -> str:
        raise NotImplementedError

    def get(self, key: str, default: str = "") -> str:
        return self.attrs.get(key, default)

    def get_int(self, key: str) -> int | None:
        return _typed(self, self.attrs, key, parse_int)

    def get_float(self, key: str) -> float | None:
        return _typed(self, self.attrs, key, parse_float)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = _typed(self, self.attrs, key, parse_bool)
        return default if value is None else value

    def get_duration(self, key: str) -> Duration | None:
        return _typed(self, self.attrs, key, Duration.parse)


class Node(_Typed):
    """One stage. ``line`` is where its node statement starts (0 if built in code)."""

    __match_args__ = __slots__ = ("id", "attrs", "line")
    id: str
    line: int

    def __init__(self, id: str, attrs: Mapping[str, str] | None = None,
                 line: int = 0) -> None:
        setter = object.__setattr__
        setter(self, "id", id)
        setter(self, "attrs", {} if attrs is None else attrs)
        setter(self, "line", line)

    def _owner(self) -> str:
        return f"node {self.id}"

    @property
    def label(self) -> str:
        return self.attrs.get("label") or self.id

    @property
    def shape(self) -> str:
        return self.attrs.get("shape", "box")

    @property
    def type(self) -> str:
        return self.attrs.get("type", "")

    @property
    def handler_type(self) -> str:
        """Explicit ``type`` wins, then the shape mapping, then the default handler."""
        # Read from attrs directly (not through .type and .shape): validation and the engine
        # ask this of every node many times.
        attributes = self.attrs
        return attributes.get("type") or SHAPE_TO_TYPE.get(attributes.get("shape", "box"),
                                                            DEFAULT_HANDLER_TYPE)

    @property
    def prompt(self) -> str:
        return self.attrs.get("prompt", "")

    @property
    def max_retries(self) -> int | None:
        return self.get_int("max_retries")

    @property
    def goal_gate(self) -> bool:
        return self.get_bool("goal_gate")

    @property
    def retry_target(self) -> str:
        return self.attrs.get("retry_target", "")

    @property
    def fallback_retry_target(self) -> str:
        return self.attrs.get("fallback_retry_target", "")

    @property
    def fidelity(self) -> str:
        return self.attrs.get("fidelity", "")

    @property
    def thread_id(self) -> str:
        return self.attrs.get("thread_id", "")

    @property
    def classes(self) -> tuple[str, ...]:
        raw = self.attrs.get("class", "")
        return tuple(c.strip() for c in raw.split(",") if c.strip())

    @property
    def timeout(self) -> Duration | None:
        return self.get_duration("timeout")

    @property
    def llm_model(self) -> str:
        return self.attrs.get("llm_model", "")

    @property
    def llm_provider(self) -> str:
        return self.attrs.get("llm_provider", "")

    @property
    def reasoning_effort(self) -> str:
        return self.attrs.get("reasoning_effort", "high")

    @property
    def auto_status(self) -> bool:
        return self.get_bool("auto_status")

    @property
    def allow_partial(self) -> bool:
        return self.get_bool("allow_partial")


class Edge(_Typed):
    """A directed edge; ``index`` is its declaration order within the graph."""

    __match_args__ = __slots__ = ("source", "target", "attrs", "line", "index")
    source: str
    target: str
    line: int
    index: int

    def __init__(self, source: str, target: str, attrs: Mapping[str, str] | None = None,
                 line: int = 0, index: int = 0) -> None:
        setter = object.__setattr__
        setter(self, "source", source)
        setter(self, "target", target)
        setter(self, "attrs", {} if attrs is None else attrs)
        setter(self, "line", line)
        setter(self, "index", index)

    def _owner(self) -> str:
        return f"edge {self.source} -> {self.target}"

    @property
    def label(self) -> str:
        return self.attrs.get("label", "")

    @property
    def condition(self) -> str:
        return self.attrs.get("condition", "")

    @property
    def weight(self) -> int:
        return self.get_int("weight") or 0

    @property
    def fidelity(self) -> str:
        return self.attrs.get("fidelity", "")

    @property
    def thread_id(self) -> str:
        return self.attrs.get("thread_id", "")

    @property
    def loop_restart(self) -> bool:
        return self.get_bool("loop_restart")


class Graph(_Typed):
    """A parsed pipeline. ``nodes`` keeps declaration order.

    ``attr_lines`` maps a graph attribute to the line that set it, so
    diagnostics about graph attributes can point at the file.
    ``redeclared`` maps a node given attributes by more than one node
    statement to the lines of those statements (DOT merges them).
    """

    # ``__dict__`` holds the indexes built on first use (the cached properties below).
    __slots__ = (
        "__dict__",
        "attr_lines",
        "attrs",
        "edges",
        "name",
        "nodes",
        "redeclared",
        "source_file",
    )
    __match_args__ = ("name", "attrs", "nodes", "edges", "source_file", "attr_lines",
                      "redeclared")
    name: str
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    source_file: str
    attr_lines: Mapping[str, int]
    redeclared: Mapping[str, tuple[int, ...]]

    def __init__(self, name: str, attrs: Mapping[str, str] | None = None,
                 nodes: Mapping[str, Node] | None = None, edges: tuple[Edge, ...] = (),
                 source_file: str = "", attr_lines: Mapping[str, int] | None = None,
                 redeclared: Mapping[str, tuple[int, ...]] | None = None) -> None:
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "attrs", {} if attrs is None else attrs)
        setter(self, "nodes", {} if nodes is None else nodes)
        setter(self, "edges", edges)
        setter(self, "source_file", source_file)
        setter(self, "attr_lines", {} if attr_lines is None else attr_lines)
        setter(self, "redeclared", {} if redeclared is None else redeclared)

    def _owner(self) -> str:
        return f"graph {self.name}"

    @property
    def goal(self) -> str:
        return self.attrs.get("goal", "")

    @property
    def label(self) -> str:
        return self.attrs.get("label", "")

    @property
    def model_stylesheet(self) -> str:
        return self.attrs.get("model_stylesheet", "")

    @property
    def default_max_retries(self) -> int:
        value = self.get_int("default_max_retries")
        if value is None:
            value = self.get_int("default_max_retry")
        return value or 0

    @property
    def default_fidelity(self) -> str:
        return self.attrs.get("default_fidelity", "")

    @property
    def retry_target(self) -> str:
        return self.attrs.get("retry_target", "")

    @property
    def fallback_retry_target(self) -> str:
        return self.attrs.get("fallback_retry_target", "")

    @property
    def max_restarts(self) -> int:
        value = self.get_int("max_restarts")
        return 50 if value is None else value

    @functools.cached_property
    def _outgoing(self) -> Mapping[str, tuple[Edge, ...]]:
        return _group(self.edges, lambda e: e.source)

    @functools.cached_property
    def _incoming(self) -> Mapping[str, tuple[Edge, ...]]:
        return _group(self.edges, lambda e: e.target)

    @functools.cached_property
    def _by_handler_type(self) -> Mapping[str, tuple[Node, ...]]:
        grouped: dict[str, list[Node]] = {}
        for node in self.nodes.values():
            grouped.setdefault(node.handler_type, []).append(node)
        return {k: tuple(v) for k, v in grouped.items()}

    def nodes_of_type(self, handler_type: str) -> tuple[Node, ...]:
        """The nodes ``handler_type`` runs, in declaration order (indexed once per graph:
        lint rules and the engine ask this of large graphs many times)."""
        return self._by_handler_type.get(handler_type, ())

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        """Edges leaving ``node_id``, in declaration order."""
        return self._outgoing.get(node_id, ())

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        """Edges entering ``node_id``, in declaration order."""
        return self._incoming.get(node_id, ())

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def max_retries_for(self, node: Node) -> int:
        """The node's ``max_retries``, else the graph's ``default_max_retries``."""
        own = node.max_retries
        return self.default_max_retries if own is None else own

    def with_nodes(self, nodes: Mapping[str, Node]) -> Graph:
        return evolve(self, nodes=dict(nodes))

    def with_attrs(self, **updates: str) -> Graph:
        return evolve(self, attrs={**self.attrs, **updates})


def _group(edges: tuple[Edge, ...], key: Callable[[Edge], str]) -> Mapping[str, tuple[Edge, ...]]:
    grouped: dict[str, list[Edge]] = {}
    for edge in edges:
        grouped.setdefault(key(edge), []).append(edge)
    return {k: tuple(v) for k, v in grouped.items()}
