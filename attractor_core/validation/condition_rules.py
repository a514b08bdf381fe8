"""``condition_key`` (error): an edge condition names only ``outcome``, ``preferred_label``
and ``context.*`` keys (spec §10.2).

A bare key such as ``outcom`` is looked up in the context, finds nothing and
compares as the empty string, so the edge is silently never (or always) taken.
"""

from __future__ import annotations

from attractor_core.conditions import (
    ROUTING_KEYS,
    ConditionSyntaxError,
    foreign_keys,
    parse_condition,
)
from attractor_core.model import Graph
from attractor_core.validation.attribute_rules import closest
from attractor_core.validation.diagnostics import Diagnostic, Severity

VALID_KEYS = "outcome, preferred_label or context.NAME (a run context value)"


def condition_key(graph: Graph) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for edge in graph.edges:
        try:
            keys = foreign_keys(parse_condition(edge.condition))
        except ConditionSyntaxError:
            continue  # condition_syntax reports it
        for key in keys:
            guess = closest(key, ROUTING_KEYS) or f"context.{key}"
            out.append(Diagnostic(
                "condition_key", Severity.ERROR,
                f"edge {edge.source} -> {edge.target}: unknown condition key {key!r} in "
                f"{edge.condition!r} (did you mean {guess!r}?)",
                edge=(edge.source, edge.target), line=edge.line,
                fix=f"a condition key is {VALID_KEYS}"))
    return out
