"""kilroy's dialect: custom outcomes in conditions, and the ``llm_prompt`` /
``node_type`` aliases (docs/dot-reference.md), through the plugin registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy
import pytest

from attractor_core.engine import run_pipeline
from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.pipeline import prepare_pipeline, prepare_source
from attractor_core.plugins import make_plugin_manager
from attractor_core.protocols import StageRun
from tests.corpus import CORPUS

from .helpers import pipeline

hookimpl = pluggy.HookimplMarker("attractor")


def _constant_warnings(source: str, pm: pluggy.PluginManager | None = None) -> list[str]:
    prepared = prepare_source(source, "t.dot", pm or make_plugin_manager())
    return [d.message for d in prepared.diagnostics if d.rule == "condition_outcome_value"]


def _routed(node: str) -> str:
    return pipeline(
        f"  {node}\n  a [prompt=p]\n  start -> n\n  n -> a [condition=\"outcome=needs_dod\"]\n"
        '  n -> exit [condition="outcome=success"]\n  a -> exit'
    )


@pytest.mark.parametrize(
    "node", ['n [prompt="p"]', 'n [shape=parallelogram, tool_command="true"]']
)
def test_custom_outcomes_out_of_llm_and_tool_stages_are_not_constant(node: str) -> None:
    assert _constant_warnings(_routed(node)) == []


@pytest.mark.parametrize(
    ("node", "handler"), [("n [shape=hexagon]", "wait.human"), ("n [shape=diamond]", "conditional")]
)
def test_custom_outcomes_out_of_handlers_that_never_report_them_are_constant(
    node: str, handler: str
) -> None:
    [message] = _constant_warnings(_routed(node))
    assert "outcome is never 'needs_dod'" in message
    assert f"node n's handler ({handler}) never reports custom outcomes" in message


def test_an_uppercase_outcome_is_still_constant_and_the_fix_lowercases_it() -> None:
    source = pipeline('  n [prompt="p"]\n  start -> n\n  n -> exit [condition="outcome=Needs_DoD"]')
    prepared = prepare_source(source, "t.dot", make_plugin_manager())
    [found] = [d for d in prepared.diagnostics if d.rule == "condition_outcome_value"]
    assert "outcomes are lowercase" in found.message and found.fix == "write outcome=needs_dod"


class _Judge:
    """A third-party handler that declares nothing about custom outcomes."""

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        return Outcome.named("needs_dod")


class _Gate:
    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        return Outcome.success()


class _Plugin:
    @hookimpl
    def attractor_handler_types(self) -> Mapping[str, Any]:
        return {"judge": _Judge(), "gate": _Gate()}


def test_a_plugin_handler_declares_whether_it_reports_custom_outcomes() -> None:
    pm = make_plugin_manager(extra_plugins=[_Plugin()])
    assert _constant_warnings(_routed("n [type=judge]"), pm) == []
    [message] = _constant_warnings(_routed("n [type=gate]"), pm)
    assert "(gate) never reports custom outcomes" in message


def test_llm_prompt_is_read_as_prompt_and_prompt_wins(tmp_path: Path) -> None:
    source = pipeline(
        '  a [llm_prompt="Reach $goal"]\n  b [llm_prompt="ignored", prompt="Mine"]\n'
        '  start -> a -> b -> exit\n  a -> exit [condition="outcome=fail"]',
        'graph [goal="consensus"]',
    )
    prepared = prepare_source(source, "t.dot", make_plugin_manager())
    assert prepared.diagnostics == ()  # no unknown-attribute warning for llm_prompt
    assert prepared.graph.nodes["a"].prompt == "Reach consensus"
    assert prepared.graph.nodes["b"].prompt == "Mine"


async def test_llm_prompt_reaches_the_stage_prompt(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(pipeline('  a [llm_prompt="Reach $goal"]\n  start -> a -> exit',
                            'graph [goal="consensus"]'))
    record = await run_pipeline(dot, logs_root=tmp_path / "logs")
    assert record.status == "success"
    assert (tmp_path / "logs" / "a" / "prompt.md").read_text() == "Reach consensus"


def test_node_type_names_a_handler_or_is_left_alone() -> None:
    # kilroy's semport: the start and exit are circles typed by node_type.
    source = """digraph G {
  Begin [shape=circle, node_type=start]
  work [shape=box, node_type="stack.steer", prompt=p]
  Finish [shape=doublecircle, node_type=exit]
  Begin -> work -> Finish
}"""
    prepared = prepare_source(source, "t.dot", make_plugin_manager())
    assert [d.rule for d in prepared.diagnostics] == []
    nodes = prepared.graph.nodes
    assert (nodes["Begin"].type, nodes["Finish"].type) == ("start", "exit")
    assert nodes["work"].type == "" and nodes["work"].handler_type == "codergen"


def test_an_explicit_type_wins_over_node_type() -> None:
    source = pipeline('  t [type=tool, node_type=codergen, tool_command="true"]\n'
                      "  start -> t -> exit")
    prepared = prepare_source(source, "t.dot", make_plugin_manager())
    assert prepared.graph.nodes["t"].handler_type == "tool"


ROUTING_FILES = ("specs_consensus_task.dot", "specs_semport.dot", "demo_substack-spec-v01.dot",
                 "skills_create-dotfile_reference_template.dot")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="kilroy corpus not present")
@pytest.mark.parametrize("name", ROUTING_FILES)
def test_the_corpus_custom_outcome_conditions_are_not_called_constant(name: str) -> None:
    prepared = prepare_pipeline(CORPUS / name, make_plugin_manager())
    assert prepared.ok
    assert [d for d in prepared.diagnostics if d.rule == "condition_outcome_value"] == []
