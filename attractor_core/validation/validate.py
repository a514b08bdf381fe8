"""``validate`` and ``validate_or_raise`` (spec §7.3).

Rules come from the ``attractor_lint_rules`` hook (the built-ins are an
internal plugin), plus ``type_known`` and ``condition_outcome_value``, which
ask the handler registry, and ``unknown_attribute`` and ``stylesheet_syntax``
with the attribute schema the plugins declare.
A rule that raises, or returns something that is not a diagnostic,
becomes an error diagnostic naming the rule: one broken plugin never
hides the other findings. Every diagnostic gets the graph's file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

import pluggy

from attractor_core import kernel_attributes
from attractor_core.attributes import AttributeSchema
from attractor_core.model import SHAPE_TO_TYPE, Graph, Node
from attractor_core.plugins import collect_in_registration_order
from attractor_core.registry import HandlerRegistry
from attractor_core.stylesheet import PROPERTIES
from attractor_core.validation.attribute_rules import UnknownAttributeRule
from attractor_core.validation.builtin_rules import (
    BUILTIN_RULES,
    ConditionOutcomeValueRule,
    StylesheetSyntaxRule,
    TypeKnownRule,
)
from attractor_core.validation.diagnostics import Diagnostic, Severity, ValidationError

if TYPE_CHECKING:
    from attractor_core.protocols import LintRule

# The spec's handler types (§2.8), assumed when no plugin manager is given.
STANDARD_TYPES: frozenset[str] = frozenset(SHAPE_TO_TYPE.values())


def validate(
    graph: Graph,
    pm: pluggy.PluginManager | None = None,
    handler_types: Collection[str] | None = None,
) -> list[Diagnostic]:
    """Run every rule on ``graph``; never raises because of a rule."""
    registry = HandlerRegistry.from_plugins(pm) if pm is not None else None
    if handler_types is None:
        handler_types = registry.types if registry is not None else STANDARD_TYPES
    # Without a registry nothing says which handlers report custom outcomes: assume any may.
    routes_custom = registry.routes_custom_outcomes if registry is not None else _any_node
    found: list[Diagnostic] = []
    schema = _schema(pm)
    properties = {*PROPERTIES, *schema.stylesheet_properties()}
    every_rule: list[LintRule] = [*_plugin_rules(pm), TypeKnownRule(handler_types),
                                  ConditionOutcomeValueRule(routes_custom),
                                  UnknownAttributeRule(schema), StylesheetSyntaxRule(properties)]
    for rule in every_rule:
        found.extend(_run_rule(rule, graph))
    return [_locate(d, graph) for d in found]


def validate_or_raise(
    graph: Graph,
    pm: pluggy.PluginManager | None = None,
    handler_types: Collection[str] | None = None,
) -> list[Diagnostic]:
    """``validate``, raising :class:`ValidationError` if any diagnostic is an error."""
    diagnostics = validate(graph, pm, handler_types)
    if any(d.is_error for d in diagnostics):
        raise ValidationError(diagnostics)
    return diagnostics


def _any_node(node: Node) -> bool:
    return True


def _plugin_rules(pm: pluggy.PluginManager | None) -> list[LintRule]:
    if pm is None:
        return list(BUILTIN_RULES)
    return collect_in_registration_order(pm.hook.attractor_lint_rules())


def _schema(pm: pluggy.PluginManager | None) -> AttributeSchema:
    if pm is None:
        return AttributeSchema.merge([kernel_attributes.attractor_attribute_schema()])
    return AttributeSchema.from_plugins(pm)


def _rule_name(rule: object) -> str:
    return str(getattr(rule, "name", "") or type(rule).__name__)


def _run_rule(rule: LintRule, graph: Graph) -> Iterable[Diagnostic]:
    name = _rule_name(rule)
    try:
        result = list(rule.apply(graph))
    except Exception as exc:
        return [_broken(name, f"raised {type(exc).__name__}: {exc}")]
    bad = [item for item in result if not isinstance(item, Diagnostic)]
    if bad:
        return [_broken(name, f"returned {type(bad[0]).__name__} instead of a Diagnostic")]
    return result


def _broken(name: str, problem: str) -> Diagnostic:
    return Diagnostic(
        name,
        Severity.ERROR,
        f"lint rule {name} {problem}",
        line=1,
        fix=f"fix or uninstall the plugin that provides rule {name}",
    )


def _locate(diagnostic: Diagnostic, graph: Graph) -> Diagnostic:
    if diagnostic.file:
        return diagnostic
    return diagnostic.located(graph.source_file or "<string>")


def sorted_diagnostics(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """By file, then line, errors before warnings at the same line."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(diagnostics, key=lambda d: (d.file, d.line, order[d.severity], d.rule))
