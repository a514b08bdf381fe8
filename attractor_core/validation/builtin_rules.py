"""The built-in lint rules (spec §7.2 plus our extras), as an internal plugin.

Each rule function of ``rules.py`` is wrapped in a :class:`FunctionRule`
and contributed through ``attractor_lint_rules`` exactly like a
third-party rule. ``type_known``, ``condition_outcome_value`` and
``unknown_attribute`` and ``stylesheet_syntax`` are the exceptions: they
need what the plugins provide (the handler registry, the attribute schema),
so ``validate`` adds them with what it resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from attractor_core.model import Graph, Node
from attractor_core.plugins import hookimpl
from attractor_core.validation import attribute_rules, condition_rules, rules
from attractor_core.validation.diagnostics import Diagnostic

if TYPE_CHECKING:
    from attractor_core.protocols import LintRule


class FunctionRule:
    """A lint rule made of a name and a ``graph -> diagnostics`` function."""

    def __init__(self, name: str, check: Callable[[Graph], list[Diagnostic]]):
        self.name = name
        self.check = check

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return self.check(graph)


class TypeKnownRule:
    """``type_known``: every explicit node ``type`` has an installed handler."""

    def __init__(self, handler_types: Collection[str]):
        self.name = "type_known"
        self.handler_types = frozenset(handler_types)

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return rules.type_known(graph, self.handler_types)


class ConditionOutcomeValueRule:
    """``condition_outcome_value``: needs to know which nodes' handlers can report
    custom outcomes, which only the handler registry can tell."""

    def __init__(self, routes_custom: Callable[[Node], bool]):
        self.name = "condition_outcome_value"
        self.routes_custom = routes_custom

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return rules.condition_outcome_value(graph, self.routes_custom)


class StylesheetSyntaxRule:
    """``stylesheet_syntax``: the stylesheet parses and sets only properties the spec defines
    or a plugin declares as stylesheet properties."""

    def __init__(self, properties: Collection[str]):
        self.name = "stylesheet_syntax"
        self.properties = frozenset(properties)

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return rules.stylesheet_syntax(graph, self.properties)


_RULE_FUNCTIONS: tuple[Callable[[Graph], list[Diagnostic]], ...] = (
    rules.start_node,
    rules.terminal_node,
    rules.reachability,
    rules.edge_target_exists,
    rules.start_no_incoming,
    rules.exit_no_outgoing,
    rules.condition_syntax,
    condition_rules.condition_key,
    rules.fidelity_valid,
    rules.retry_target_exists,
    rules.goal_gate_has_retry,
    rules.attribute_value,
    rules.dead_end,
    rules.reasoning_effort_valid,
    rules.retry_policy_known,
    attribute_rules.shape_known,
    attribute_rules.node_redeclared,
)

BUILTIN_RULES: tuple[LintRule, ...] = tuple(FunctionRule(f.__name__, f) for f in _RULE_FUNCTIONS)


@hookimpl
def attractor_lint_rules() -> Sequence[LintRule]:
    return list(BUILTIN_RULES)
