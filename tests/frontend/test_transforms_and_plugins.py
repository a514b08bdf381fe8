"""Spec §9.1–9.3 / §11.11, §7.4: transforms, custom transforms, custom rules and handler types.

The test plugin is registered by hand into a kernel-only plugin manager,
so these tests prove the kernel itself consults the hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from attractor_core.dot import parse_dot
from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.pipeline import prepare_source
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.transforms import ExpandGoal, apply_transforms
from attractor_core.validation import Diagnostic, Severity, validate

from .helpers import StageRulesPlugin

SOURCE = """digraph G {
  graph [goal="Ship v2", model_stylesheet="* { llm_model: sheet-model; }"]
  start [shape=Mdiamond]
  exit [shape=Msquare]
  work [prompt="Achieve $goal now; $goal!"]
  custom [type="acme.widget", prompt="p"]
  start -> work -> custom -> exit
}
"""


class RecordStylesheetSeen:
    """A custom transform: records what the built-ins already did, then adds a node attribute."""

    name = "record"

    def __init__(self, log: list[str]):
        self.log = log

    def apply(self, graph: Graph) -> Graph:
        work = graph.nodes["work"]
        self.log.append(f"{self.name}:{work.prompt}|{work.llm_model}")
        stamped = attrs.evolve(work, attrs={**work.attrs, "audited": self.log[-1]})
        return graph.with_nodes({**graph.nodes, "work": stamped})


class SecondTransform:
    name = "second"

    def __init__(self, log: list[str]):
        self.log = log

    def apply(self, graph: Graph) -> Graph:
        self.log.append(f"second:{graph.nodes['work'].attrs.get('audited', '-')}")
        return graph


class NoTodoRule:
    name = "no_todo"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        return [
            Diagnostic(self.name, Severity.WARNING, f"{n.id} has TODO", node_id=n.id, line=n.line)
            for n in graph.nodes.values()
            if "TODO" in n.prompt
        ]


class WidgetHandler:
    async def execute(self, node: Node, context: Context, graph: Graph, run: Any) -> Outcome:
        return Outcome.success()


class AcmePlugin:
    def __init__(self) -> None:
        self.log: list[str] = []

    @hookimpl
    def attractor_transforms(self) -> list[Any]:
        return [RecordStylesheetSeen(self.log), SecondTransform(self.log)]

    @hookimpl
    def attractor_lint_rules(self) -> list[Any]:
        return [NoTodoRule()]

    @hookimpl
    def attractor_handler_types(self) -> dict[str, Any]:
        return {"acme.widget": WidgetHandler()}


def test_goal_expansion_replaces_every_occurrence_in_prompts() -> None:
    graph = ExpandGoal().apply(parse_dot(SOURCE, "t.dot"))
    assert graph.nodes["work"].prompt == "Achieve Ship v2 now; Ship v2!"


def test_transforms_never_mutate_their_input() -> None:
    original = parse_dot(SOURCE, "t.dot")
    before = dict(original.nodes["work"].attrs)
    result = apply_transforms(original, make_plugin_manager(entry_points=False))
    assert original.nodes["work"].attrs == before
    assert result.nodes["work"].attrs != before


def test_custom_transforms_run_after_builtins_in_registration_order() -> None:
    plugin = AcmePlugin()
    pm = make_plugin_manager(entry_points=False, extra_plugins=[plugin])
    graph = apply_transforms(parse_dot(SOURCE, "t.dot"), pm)
    seen = "record:Achieve Ship v2 now; Ship v2!|sheet-model"
    assert plugin.log == [seen, f"second:{seen}"]
    assert graph.nodes["work"].attrs["audited"] == seen


def test_custom_lint_rule_runs_in_validation() -> None:
    pm = make_plugin_manager(entry_points=False, extra_plugins=[AcmePlugin()])
    graph = parse_dot(SOURCE.replace('prompt="p"', 'prompt="TODO"'), "t.dot")
    found = [d for d in validate(graph, pm) if d.rule == "no_todo"]
    assert [(d.node_id, d.file, d.line) for d in found] == [("custom", "t.dot", 6)]


def test_custom_handler_type_is_known_only_when_its_plugin_is_registered() -> None:
    graph = parse_dot(SOURCE, "t.dot")
    with_plugin = make_plugin_manager(entry_points=False, extra_plugins=[AcmePlugin()])
    kernel_only = make_plugin_manager(entry_points=False)
    assert "type_known" not in {d.rule for d in validate(graph, with_plugin)}
    unknown = [d for d in validate(graph, kernel_only) if d.rule == "type_known"]
    assert [(d.node_id, d.severity) for d in unknown] == [("custom", Severity.WARNING)]


def test_overrides_apply_before_transforms() -> None:
    pm = make_plugin_manager(entry_points=False)
    prepared = prepare_source(SOURCE, "t.dot", pm, {"goal": "Fix bugs"})
    assert prepared.graph.nodes["work"].prompt == "Achieve Fix bugs now; Fix bugs!"
    assert prepared.graph.goal == "Fix bugs"


class BrokenTransform:
    name = "broken"

    def apply(self, graph: Graph) -> Graph:
        raise KeyError("boom")


class BrokenRule:
    name = "broken_rule"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        raise RuntimeError("kaput")


class BrokenPlugin:
    @hookimpl
    def attractor_transforms(self) -> list[Any]:
        return [BrokenTransform()]

    @hookimpl
    def attractor_lint_rules(self) -> list[Any]:
        return [BrokenRule()]


def test_a_crashing_transform_or_rule_becomes_a_diagnostic_naming_it() -> None:
    pm = make_plugin_manager(entry_points=False, extra_plugins=[BrokenPlugin()])
    prepared = prepare_source(SOURCE, "t.dot", pm)
    by_rule = {d.rule: d for d in prepared.diagnostics}
    assert "broken" in by_rule["transform"].message
    assert "kaput" in by_rule["broken_rule"].message
    assert all(d.severity is Severity.ERROR for d in by_rule.values() if d.rule != "type_known")
    assert not prepared.ok


class FillPrompts:
    """Organisation default: every LLM node without a prompt gets one."""

    def apply(self, graph: Graph) -> Graph:
        filled = {
            k: attrs.evolve(n, attrs={**n.attrs, "prompt": f"Work on: {n.label}"})
            for k, n in graph.nodes.items()
            if n.handler_type == "codergen" and not n.prompt and n.id not in ("start", "exit")
        }
        return graph.with_nodes({**graph.nodes, **filled})


class DefaultsPlugin:
    @hookimpl
    def attractor_transforms(self) -> list[Any]:
        return [FillPrompts()]


def test_validation_sees_the_transformed_graph() -> None:
    source = SOURCE.replace('work [prompt="Achieve $goal now; $goal!"]', 'work [label="Work"]')
    # prompt_on_llm_nodes is the handlers' rule.
    plain = prepare_source(source, "t.dot", make_plugin_manager(
        entry_points=False, extra_plugins=[StageRulesPlugin()]))
    assert "prompt_on_llm_nodes" in {d.rule for d in plain.diagnostics}
    pm = make_plugin_manager(entry_points=False,
                             extra_plugins=[StageRulesPlugin(), DefaultsPlugin()])
    fixed = prepare_source(source, "t.dot", pm)
    assert fixed.graph.nodes["work"].prompt == "Work on: Work"
    assert "prompt_on_llm_nodes" not in {d.rule for d in fixed.diagnostics}
