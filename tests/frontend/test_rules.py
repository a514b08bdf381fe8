"""Spec §7 / §11.2: every lint rule, positive and negative, and validate_or_raise."""

from __future__ import annotations

import itertools

import pytest

from attractor_core.dot import parse_dot
from attractor_core.model import Edge, Graph, Node
from attractor_core.validation import (
    Diagnostic,
    Severity,
    ValidationError,
    validate,
    validate_or_raise,
)
from attractor_core.validation.validate import STANDARD_TYPES

from .helpers import VALID, diagnostics_for, pipeline, plugin_manager, rules_for

W = '  work [prompt="p"]\n'
LINEAR = W + "  start -> work -> exit"

# rule id -> (severity, a pipeline that breaks it, a close pipeline that does not)
CASES: dict[str, tuple[Severity, str, str]] = {
    "start_node": (
        Severity.ERROR,
        "digraph G { exit [shape=Msquare]\n work [prompt=p]\n work -> exit }",
        pipeline(LINEAR),
    ),
    "terminal_node": (
        Severity.ERROR,
        "digraph G { start [shape=Mdiamond]\n work [prompt=p]\n start -> work }",
        pipeline(LINEAR + "\n  done [shape=doublecircle]\n  work -> done"),
    ),
    "reachability": (
        Severity.ERROR,
        pipeline(LINEAR + '\n  orphan [prompt="p"]\n  orphan -> exit'),
        pipeline(LINEAR + '\n  later [prompt="p"]\n  work -> later -> exit'),
    ),
    "edge_target_exists": (
        Severity.ERROR,
        pipeline(LINEAR + "\n  work -> wrok"),
        pipeline(LINEAR),
    ),
    "start_no_incoming": (
        Severity.ERROR,
        pipeline(LINEAR + "\n  work -> start"),
        pipeline(LINEAR),
    ),
    "exit_no_outgoing": (
        Severity.ERROR,
        pipeline(LINEAR + "\n  exit -> work"),
        pipeline(LINEAR),
    ),
    "condition_syntax": (
        Severity.ERROR,
        pipeline(W + '  start -> work\n  work -> exit [condition="outcome = = x"]'),
        pipeline(W + '  start -> work\n  work -> exit [condition="outcome = success"]'),
    ),
    "stylesheet_syntax": (
        Severity.ERROR,
        pipeline(LINEAR, 'model_stylesheet="* { llm_model }"'),
        pipeline(LINEAR, 'model_stylesheet="* { llm_model: m; }"'),
    ),
    "type_known": (
        Severity.WARNING,
        pipeline(W + '  t [type="no.such", prompt="p"]\n  start -> work -> t -> exit'),
        pipeline(W + '  t [type="tool", tool_command="true"]\n  start -> work -> t -> exit'),
    ),
    "fidelity_valid": (
        Severity.WARNING,
        pipeline(LINEAR, 'default_fidelity="everything"'),
        pipeline(LINEAR, 'default_fidelity="summary:high"'),
    ),
    "retry_target_exists": (
        Severity.WARNING,
        pipeline('  work [prompt="p", retry_target=nowhere]\n  start -> work -> exit'),
        pipeline('  work [prompt="p", retry_target=work]\n  start -> work -> exit'),
    ),
    "goal_gate_has_retry": (
        Severity.WARNING,
        pipeline('  work [prompt="p", goal_gate=true]\n  start -> work -> exit'),
        pipeline('  work [prompt="p", goal_gate=true, retry_target=work]\n  start -> work -> exit'),
    ),
    "prompt_on_llm_nodes": (
        Severity.WARNING,
        pipeline('  work [label="Work"]\n  start -> work -> exit'),
        pipeline('  work [label="Work", prompt="Do it"]\n  start -> work -> exit'),
    ),
    "attribute_value": (
        Severity.ERROR,
        pipeline('  work [prompt="p", timeout="15 minutes"]\n  start -> work -> exit'),
        pipeline('  work [prompt="p", timeout="15m"]\n  start -> work -> exit'),
    ),
    "condition_outcome_value": (
        Severity.WARNING,
        pipeline(W + '  start -> work\n  work -> exit [condition="outcome=SUCCESS"]'),
        pipeline(W + '  start -> work\n  work -> exit [condition="outcome=success"]'),
    ),
    "dead_end": (
        Severity.WARNING,
        pipeline(LINEAR + '\n  side [prompt="p"]\n  work -> side'),
        pipeline(LINEAR + '\n  side [prompt="p"]\n  work -> side -> exit'),
    ),
    "reasoning_effort_valid": (
        Severity.WARNING,
        pipeline('  work [prompt="p", reasoning_effort=extreme]\n  start -> work -> exit'),
        pipeline('  work [prompt="p", reasoning_effort=low]\n  start -> work -> exit'),
    ),
    "tool_command_present": (
        Severity.WARNING,
        pipeline("  t [shape=parallelogram]\n  start -> t -> exit"),
        pipeline('  t [shape=parallelogram, tool_command="make test"]\n  start -> t -> exit'),
    ),
    "retry_policy_known": (
        Severity.WARNING,
        pipeline('  work [prompt="p", retry_policy=agressive]\n  start -> work -> exit'),
        pipeline('  work [prompt="p", retry_policy=aggressive]\n  start -> work -> exit'),
    ),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_with_its_severity_location_and_fix(rule: str) -> None:
    severity, bad, _ = CASES[rule]
    found = [d for d in diagnostics_for(bad) if d.rule == rule]
    assert found, f"{rule} did not fire"
    for diagnostic in found:
        assert diagnostic.severity is severity
        assert diagnostic.file == "t.dot"
        assert diagnostic.line >= 1
        assert diagnostic.fix
        assert diagnostic.node_id or diagnostic.edge or diagnostic.line


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_is_silent_on_the_corrected_pipeline(rule: str) -> None:
    _, _, good = CASES[rule]
    assert diagnostics_for(good) == []


def test_the_valid_example_has_no_diagnostics() -> None:
    assert diagnostics_for(VALID) == []


def test_start_and_exit_are_also_recognised_by_id() -> None:
    assert rules_for('digraph G { start\n end\n start -> w -> end\n w [prompt="p"] }') == set()


@pytest.mark.parametrize(
    ("source", "node", "line"),
    [
        (pipeline('  work [prompt="p", max_retries=three]\n  start -> work -> exit'), "work", 5),
        (pipeline('  work [prompt="p", max_retries=-1]\n  start -> work -> exit'), "work", 5),
        (pipeline('  work [prompt="p", goal_gate=maybe]\n  start -> work -> exit'), "work", 5),
        (pipeline('  work [prompt="p", sim.outcome="so great"]\n  start -> work -> exit'), "work", 5),
        (pipeline('  work [prompt="p", sim.delay=soon]\n  start -> work -> exit'), "work", 5),
    ],
)
def test_attribute_value_reports_typed_node_attributes(source: str, node: str, line: int) -> None:
    found = [d for d in diagnostics_for(source) if d.rule == "attribute_value"]
    assert [(d.node_id, d.line) for d in found] == [(node, line)]


def test_sim_keys_accept_what_the_simulate_backend_accepts() -> None:
    good = pipeline(
        '  work [prompt="p", sim.outcome="fail,RETRY,success", sim.delay=250ms,\n'
        '        sim.context_updates="{\\"k\\": 1}", sim.failure_class=transient_infra]\n'
        "  start -> work -> exit"
    )
    assert diagnostics_for(good) == []
    bad = good.replace("RETRY", "try-again").replace('{\\"k\\": 1}', "[1]")
    found = [d.message for d in diagnostics_for(bad) if d.rule == "attribute_value"]
    assert len(found) == 2
    assert any("'try-again'" in m for m in found) and any("JSON object" in m for m in found)


def test_attribute_value_covers_edges_and_graph_policy_keys() -> None:
    source = pipeline(
        W + "  start -> work [weight=heavy]\n  work -> exit [loop_restart=perhaps]",
        'graph [stall_timeout="10 min", max_restarts=-2, default_max_retries=x]',
    )
    found = {
        (d.edge, d.message.split(":")[0])
        for d in diagnostics_for(source)
        if d.rule == "attribute_value"
    }
    assert (("start", "work"), "edge start -> work") in found
    assert (("work", "exit"), "edge work -> exit") in found
    graph_keys = {
        d.message for d in diagnostics_for(source) if d.rule == "attribute_value" and d.edge is None
    }
    assert len(graph_keys) == 3
    assert all(
        d.line == 2
        for d in diagnostics_for(source)
        if d.rule == "attribute_value" and d.edge is None
    )


def test_duplicate_start_nodes_are_named() -> None:
    source = pipeline(LINEAR + "\n  begin [shape=Mdiamond]\n  begin -> work")
    (found,) = [d for d in diagnostics_for(source) if d.rule == "start_node"]
    assert "start" in found.message and "begin" in found.message


def test_unknown_edge_target_suggests_the_close_name() -> None:
    (found,) = [
        d for d in diagnostics_for(CASES["edge_target_exists"][1]) if d.rule == "edge_target_exists"
    ]
    assert "did you mean 'work'" in found.message
    assert found.edge == ("work", "wrok")


def test_retry_targets_count_as_reachable() -> None:
    source = pipeline(
        W + '  fixer [prompt="p"]\n  start -> work -> exit\n  fixer -> work', "retry_target=fixer"
    )
    assert "reachability" not in rules_for(source)


def test_validate_or_raise_raises_on_errors_with_readable_message() -> None:
    with pytest.raises(ValidationError) as info:
        validate_or_raise(parse_dot(CASES["start_no_incoming"][1], "bad.dot"), plugin_manager(),
                          STANDARD_TYPES)
    text = str(info.value)
    assert "bad.dot:" in text and "start_no_incoming" in text and "fix:" in text
    assert all(d.severity is Severity.ERROR for d in info.value.errors)


def test_validate_or_raise_returns_warnings() -> None:
    found = validate_or_raise(parse_dot(CASES["prompt_on_llm_nodes"][1], "w.dot"),
                              plugin_manager(), STANDARD_TYPES)
    assert [d.rule for d in found] == ["prompt_on_llm_nodes"]


def test_diagnostic_is_frozen() -> None:
    diagnostic = Diagnostic("r", Severity.INFO, "m")
    with pytest.raises(AttributeError):
        diagnostic.rule = "x"  # type: ignore[misc]


def _linear_graph(count: int) -> Graph:
    ids = ["start", *(f"n{i}" for i in range(count)), "exit"]
    nodes = {i: Node(i, {"prompt": "p"}, line=k + 1) for k, i in enumerate(ids)}
    nodes["start"] = Node("start", {"shape": "Mdiamond"}, line=1)
    nodes["exit"] = Node("exit", {"shape": "Msquare"}, line=len(ids))
    edges = tuple(Edge(a, b, line=1, index=k) for k, (a, b) in enumerate(itertools.pairwise(ids)))
    return Graph("big", nodes=nodes, edges=edges, source_file="big.dot")


def test_twenty_thousand_node_chain_validates_without_recursion() -> None:
    graph = _linear_graph(20_000)
    assert validate(graph) == []
    broken = Graph("big", nodes=graph.nodes, edges=graph.edges[:10_000], source_file="big.dot")
    unreachable = [d for d in validate(broken) if d.rule == "reachability"]
    assert len(unreachable) == 10_001


def test_severity_may_be_given_as_its_name() -> None:
    assert Diagnostic("r", "warning", "m").severity is Severity.WARNING  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Diagnostic("r", "fatal", "m")  # type: ignore[arg-type]


def test_retry_policy_known_accepts_exactly_the_engines_presets() -> None:
    from attractor_core.engine.retry import PRESETS

    for name in PRESETS:
        good = pipeline(f'  work [prompt="p", retry_policy={name}]\n  start -> work -> exit')
        assert not [d for d in diagnostics_for(good) if d.rule == "retry_policy_known"], name
    bad = pipeline('  work [prompt="p", retry_policy=eager]\n  start -> work -> exit')
    [found] = [d for d in diagnostics_for(bad) if d.rule == "retry_policy_known"]
    assert found.fix == f"use one of: {', '.join(PRESETS)}"
