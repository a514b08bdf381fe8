"""Shared helpers for the front-end tests: build graphs from DOT text, run the lint rules.

The rules are the kernel's and those the built-in handlers contribute about their own
attributes (``prompt_on_llm_nodes``, ``tool_command_present``, ``attribute_value`` of the
``sim.*`` and ``human.*`` keys), which the kernel once ran itself; the handlers' routing and
concurrency rules have tests of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pluggy

from attractor_core.dot import parse_dot
from attractor_core.model import Graph
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.sdk import FunctionRule
from attractor_core.validation import Diagnostic, validate
from attractor_core.validation.validate import STANDARD_TYPES


class StageRulesPlugin:
    """Contributes the built-in handlers' stage-attribute rules alone."""

    @hookimpl
    def attractor_lint_rules(self) -> Sequence[Any]:
        from attractor_handlers.stage_rules import STAGE_RULES

        return [FunctionRule(rule.__name__, rule) for rule in STAGE_RULES]


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The kernel with the handlers' stage-attribute rules, and no other plugin (the spec's
    handler types are passed to ``validate`` alongside it)."""
    return make_plugin_manager(entry_points=False, extra_plugins=[StageRulesPlugin()])


VALID = """digraph G {
  graph [goal="ship it"]
  start [shape=Mdiamond]
  exit [shape=Msquare]
  work [prompt="Do $goal"]
  start -> work -> exit
}
"""


def diagnostics_for(source: str) -> list[Diagnostic]:
    return validate(parse_dot(source, "t.dot"), plugin_manager(), STANDARD_TYPES)


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
