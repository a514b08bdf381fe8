"""Tool-contract guardrails at definition time and at call time (kilroy-liveness §8)."""

from __future__ import annotations

import pytest

from attractor_plugins.backends.agent_loop import repeating
from attractor_plugins.backends.guardrails import (
    CallRejected,
    RepeatGuard,
    RoundError,
    ToolContract,
    ToolContractError,
    check_tool_name,
)

OBJECT = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}


@pytest.mark.parametrize("name", ["t", "Tool_1", "a_b_c", "Z9", "x" * 64])
def test_valid_tool_names_are_accepted(name):
    assert check_tool_name(name) == name


@pytest.mark.parametrize(("name", "message"), [
    ("", "tool name is required"),
    ("x" * 65, "tool name too long: 65 > 64"),
    ("1bad", "must start with a letter"),
    ("_bad", "must start with a letter"),
    ("bad-name", "invalid character '-'"),
    ("bad.name", "invalid character '.'"),
    ("has space", "invalid character ' '"),
    ("café", "invalid character 'é'"),
])
def test_bad_tool_names_are_rejected_at_definition(name, message):
    with pytest.raises(ToolContractError, match=message):
        ToolContract.define(name, "d", OBJECT)


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "string"}, "type=object at the schema root; got 'string'"),
    ({"properties": {}}, "got no type"),
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}},
     "invalid parameter schema"),
])
def test_parameter_schemas_must_be_valid_objects(schema, message):
    with pytest.raises(ToolContractError, match=message):
        ToolContract.define("tool", "d", schema)


def test_missing_schema_means_an_empty_object():
    contract = ToolContract.define("noargs", "d", None)
    assert contract.parameters == {"type": "object", "properties": {}}
    assert contract.arguments("") == {}


def test_arguments_are_decoded_and_checked_against_the_compiled_schema():
    contract = ToolContract.define("reader", "d", OBJECT)
    assert contract.arguments('{"path": "a"}') == {"path": "a"}
    assert contract.arguments({"path": "b"}) == {"path": "b"}
    with pytest.raises(CallRejected, match="invalid tool arguments JSON"):
        contract.arguments('{"path": ')
    with pytest.raises(CallRejected, match="expected an object, got list"):
        contract.arguments("[1]")
    with pytest.raises(CallRejected, match="path: 3 is not of type 'string'"):
        contract.arguments({"path": 3})


def test_repeat_guard_ends_on_the_third_identical_all_error_round():
    guard = RepeatGuard()
    bad = [RoundError("write_file", "schema failed", True)]
    assert guard.observe(bad, 1) == ""
    assert guard.observe(bad, 1) == ""
    reason = guard.observe(bad, 1)
    assert reason.startswith("repeated malformed tool calls detected (repeats=3 limit=3)")


def test_repeat_guard_resets_on_a_different_round_or_a_success():
    guard = RepeatGuard()
    bad = [RoundError("t", "boom", False)]
    guard.observe(bad, 1)
    guard.observe(bad, 1)
    assert guard.observe([], 1) == ""  # one call succeeded
    guard.observe(bad, 1)
    guard.observe([RoundError("t", "other", False)], 1)
    assert guard.observe(bad, 1) == ""
    assert guard.observe(bad, 1) == ""
    assert "repeated failing tool calls" in guard.observe(bad, 1)


def test_a_round_with_one_good_call_among_errors_is_not_counted():
    guard = RepeatGuard()
    for _ in range(5):
        assert guard.observe([RoundError("t", "boom", True)], 2) == ""


@pytest.mark.parametrize(("calls", "expected"), [
    (["a"] * 10, True),
    (["a", "b"] * 5, True),
    (["a", "b", "c"] * 3 + ["a"], False),  # 10 is not a multiple of 3, and not a 1/2 cycle
    (["a"] * 9, False),
    (["x"] + ["a", "b"] * 5, True),  # only the last window counts
    ([str(i) for i in range(10)], False),
])
def test_loop_detection_finds_cycles_of_one_two_or_three_calls(calls, expected):
    assert repeating(calls, 10) is expected
