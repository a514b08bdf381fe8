"""Typos that used to validate cleanly and then misbehave at run time: unknown attributes,
unknown shapes, unknown condition keys and nodes declared twice (``attractor validate``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from attractor_core.attributes import AttributeSchema
from attractor_core.plugins import make_plugin_manager


def validate(tmp_path: Path, body: str, graph_attrs: str = "") -> tuple[int, list[dict[str, Any]]]:
    path = tmp_path / "p.dot"
    path.write_text("digraph P {\n" f"  {graph_attrs}\n"
                    "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n" f"{body}\n}}\n")
    done = subprocess.run([sys.executable, "-m", "attractor_core", "validate", "--json",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def only(found: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [d for d in found if d["rule"] == rule]


def test_misspelt_tool_command_is_named_with_the_handlers_attribute(tmp_path: Path) -> None:
    code, found = validate(tmp_path, '  t [shape=parallelogram, tool_comand="make"]\n'
                                     "  start -> t -> exit")
    (diag,) = only(found, "unknown_attribute")
    assert code == 0 and diag["severity"] == "warning" and diag["node_id"] == "t"
    assert diag["line"] == 5
    assert "unknown attribute 'tool_comand'" in diag["message"]
    assert "(did you mean 'tool_command'?)" in diag["message"]
    assert "tool nodes read tool_command, tool_shell" in diag["fix"]


def test_colour_suggests_the_graphviz_attribute(tmp_path: Path) -> None:
    _, found = validate(tmp_path, '  w [prompt="x", colour=red]\n  start -> w -> exit')
    (diag,) = only(found, "unknown_attribute")
    assert "'colour'" in diag["message"] and "(did you mean 'color'?)" in diag["message"]


def test_graphviz_layout_attributes_stay_silent(tmp_path: Path) -> None:
    body = ('  w [prompt="x", color=red, fontname="Helvetica", style=filled, fillcolor=white,'
            " penwidth=2, width=1.5]\n"
            '  start -> w [color=blue, arrowhead=vee, penwidth=2]\n  w -> exit')
    code, found = validate(tmp_path, body, 'graph [rankdir=LR, fontname="Helvetica", '
                                           'goal="g", bgcolor=white]')
    assert (code, found) == (0, [])


def test_attribute_of_another_handler_says_which_shape_reads_it(tmp_path: Path) -> None:
    _, found = validate(tmp_path, '  w [prompt="x", tool_command="make"]\n  start -> w -> exit')
    (diag,) = only(found, "unknown_attribute")
    assert "attribute 'tool_command' is read only by tool nodes" in diag["message"]
    assert diag["fix"] == "give w shape=parallelogram or type=tool, or remove tool_command"


def test_backend_attributes_are_known_on_codergen_nodes(tmp_path: Path) -> None:
    body = ('  w [prompt="x", codergen.mode=oneshot, cli.agent=claude, agent.max_rounds=3,'
            ' sim.outcome=success, llm_prompt="y", node_type=codergen]\n  start -> w -> exit')
    code, found = validate(tmp_path, body)
    assert code == 0 and only(found, "unknown_attribute") == []


def test_edge_and_graph_typos_are_named(tmp_path: Path) -> None:
    body = '  w [prompt="x"]\n  start -> w [conditon="outcome=success"]\n  w -> exit'
    _, found = validate(tmp_path, body, 'graph [goal="g", stall_timout="5m"]')
    messages = [d["message"] for d in only(found, "unknown_attribute")]
    assert any("edge start -> w: unknown attribute 'conditon'" in m
               and "(did you mean 'condition'?)" in m for m in messages)
    assert any("unknown graph attribute 'stall_timout'" in m
               and "(did you mean 'stall_timeout'?)" in m for m in messages)


def test_another_runners_name_points_to_ours(tmp_path: Path) -> None:
    _, found = validate(tmp_path, '  w [prompt="x", max_agent_turns=8]\n  start -> w -> exit')
    (diag,) = only(found, "unknown_attribute")
    assert "(attractor calls it 'agent.max_rounds')" in diag["message"]


def test_unknown_shape_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    code, found = validate(tmp_path, '  t [shape=boxx, tool_command="make"]\n'
                                     "  start -> t -> exit")
    (diag,) = only(found, "shape_known")
    assert code == 1 and diag["severity"] == "error" and diag["line"] == 5
    assert diag["message"] == ("node t: shape 'boxx' is not a shape (did you mean 'box'?); "
                               "the node would run as an LLM stage")


def test_graphviz_shape_outside_the_table_is_a_warning_unless_a_type_picks_the_handler(
        tmp_path: Path) -> None:
    code, found = validate(tmp_path, '  t [shape=ellipse, prompt="x"]\n  start -> t -> exit')
    (diag,) = only(found, "shape_known")
    assert code == 0 and diag["severity"] == "warning"
    assert "shape 'ellipse' picks no handler" in diag["message"]
    code, found = validate(tmp_path, '  t [shape=ellipse, type=tool, tool_command="make"]\n'
                                     "  start -> t -> exit")
    assert code == 0 and only(found, "shape_known") == []


def test_unknown_condition_key_is_an_error_listing_the_valid_keys(tmp_path: Path) -> None:
    body = ('  w [prompt="x"]\n  start -> w\n  w -> exit [condition="outcom=success"]\n'
            '  w -> w [condition="tests_passed=true"]')
    code, found = validate(tmp_path, body)
    diags = only(found, "condition_key")
    assert code == 1 and [d["severity"] for d in diags] == ["error", "error"]
    assert diags[0]["message"] == ("edge w -> exit: unknown condition key 'outcom' in "
                                   "'outcom=success' (did you mean 'outcome'?)")
    assert diags[0]["fix"] == ("a condition key is outcome, preferred_label or context.NAME "
                               "(a run context value)")
    assert "(did you mean 'context.tests_passed'?)" in diags[1]["message"]


def test_node_declared_twice_warns_naming_both_lines(tmp_path: Path) -> None:
    body = ('  w [prompt="first"]\n  start -> w -> exit\n  w [prompt="second", timeout="5s"]\n'
            "  subgraph cluster_a { w }")  # a bare mention (membership) is not a declaration
    code, found = validate(tmp_path, body)
    (diag,) = only(found, "node_redeclared")
    assert code == 0 and diag["severity"] == "warning" and diag["line"] == 7
    assert "node w is declared with attributes on lines 5 and 7: DOT merges them" in (
        diag["message"])


@pytest.mark.parametrize("handler_type", ["start", "exit", "conditional", "tool", "wait.human",
                                          "codergen", "parallel", "parallel.fan_in", "subgraph",
                                          "stack.manager_loop"])
def test_every_built_in_handler_declares_its_attributes(handler_type: str) -> None:
    schema = AttributeSchema.from_plugins(make_plugin_manager())
    assert schema.declares(handler_type)
    for spec in schema.specs(handler_type).values():
        assert spec.name and spec.type and spec.doc.endswith(".")


def test_every_declared_attribute_is_documented_in_the_dot_reference() -> None:
    reference = (Path(__file__).parents[2] / "docs" / "dot-reference.md").read_text()
    schema = AttributeSchema.from_plugins(make_plugin_manager())
    missing = sorted({name for specs in schema.by_key.values() for name in specs
                      if f"`{name}`" not in reference})
    assert missing == []


def test_run_prints_the_warnings_before_running_and_quiet_does_not(tmp_path: Path) -> None:
    path = tmp_path / "p.dot"
    path.write_text('digraph P {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n'
                    '  t [shape=parallelogram, tool_command="true", tool_shel="/bin/sh"]\n'
                    "  start -> t -> exit\n}\n")
    command = [sys.executable, "-m", "attractor_core", "run", str(path), "--workdir",
               str(tmp_path)]
    loud = subprocess.run([*command, "--logs-root", str(tmp_path / "a")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.startswith(f"{path}:4: warning unknown_attribute: node t (tool node): "
                                  "unknown attribute 'tool_shel', ignored by the run "
                                  "(did you mean 'tool_shell'?)\n    fix: ")
    quiet = subprocess.run([*command, "--logs-root", str(tmp_path / "b"), "--quiet"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert (quiet.returncode, quiet.stderr) == (0, "")
