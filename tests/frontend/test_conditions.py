"""Spec §10 / §11.9: the condition language."""

from __future__ import annotations

import pytest

from attractor_core.conditions import (
    Condition,
    ConditionSyntaxError,
    evaluate_condition,
    parse_condition,
)
from attractor_core.model import Context, Outcome, StageStatus

from .helpers import diagnostics_for, pipeline


def ok(**kwargs: object) -> Outcome:
    return Outcome(StageStatus.SUCCESS, **kwargs)  # type: ignore[arg-type]


def test_equals_compares_strings() -> None:
    assert evaluate_condition("outcome=success", ok(), Context())
    assert not evaluate_condition("outcome=success", Outcome.fail("x"), Context())


def test_not_equals_operator() -> None:
    assert evaluate_condition("outcome!=success", Outcome.fail("x"), Context())
    assert not evaluate_condition("outcome!=success", ok(), Context())


def test_and_requires_every_clause() -> None:
    ctx = Context({"tests_passed": "true"})
    assert evaluate_condition("outcome=success && context.tests_passed=true", ok(), ctx)
    assert not evaluate_condition("outcome=success && context.tests_passed=false", ok(), ctx)
    assert not evaluate_condition("outcome=fail && context.tests_passed=true", ok(), ctx)


@pytest.mark.parametrize("status", list(StageStatus))
def test_outcome_resolves_to_lowercase_status(status: StageStatus) -> None:
    assert evaluate_condition(f"outcome={status.value}", Outcome(status), Context())
    assert not evaluate_condition(f"outcome={status.value.upper()}", Outcome(status), Context())


def test_preferred_label_resolves_to_outcome_label() -> None:
    assert evaluate_condition("preferred_label=Fix", ok(preferred_label="Fix"), Context())
    assert not evaluate_condition("preferred_label=fix", ok(preferred_label="Fix"), Context())


def test_context_keys_with_and_without_prefix() -> None:
    ctx = Context({"context.full": "a", "short": "b"})
    assert evaluate_condition("context.full=a", None, ctx)
    assert evaluate_condition("context.short=b", None, ctx)
    assert evaluate_condition("short=b", None, ctx)


def test_missing_context_key_is_empty_string() -> None:
    assert not evaluate_condition("context.nope=x", ok(), Context())
    assert evaluate_condition("context.nope!=x", ok(), Context())
    assert evaluate_condition('context.nope=""', ok(), Context())
    assert evaluate_condition("context.nope=", ok(), Context())


def test_bare_key_is_truthy_when_non_empty() -> None:
    assert evaluate_condition("context.flag", None, Context({"flag": "yes"}))
    assert not evaluate_condition("context.flag", None, Context())


def test_booleans_and_numbers_compare_as_written_in_dot() -> None:
    ctx = Context({"done": True, "count": 3})
    assert evaluate_condition("context.done=true && context.count=3", None, ctx)


def test_quoted_literals_are_unescaped() -> None:
    ctx = Context({"msg": 'two words "q"'})
    assert evaluate_condition(r'context.msg="two words \"q\""', None, ctx)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_condition_is_always_true(text: str) -> None:
    assert evaluate_condition(text, None, Context())
    assert evaluate_condition(text, Outcome.fail("x"), Context())


def test_without_outcome_outcome_is_empty() -> None:
    assert not evaluate_condition("outcome=success", None, Context())


def test_parsed_conditions_are_reused_and_accepted_by_evaluate() -> None:
    parsed = parse_condition("outcome=success")
    assert parse_condition("outcome=success") is parsed
    assert isinstance(parsed, Condition)
    assert evaluate_condition(parsed, ok(), Context())


def test_comparison_is_case_sensitive() -> None:
    assert not evaluate_condition("context.x=ABC", None, Context({"x": "abc"}))


@pytest.mark.parametrize(
    "text",
    [
        "outcome==success",
        "outcome=success || outcome=fail",
        "outcome=success &&",
        "&& outcome=success",
        "=success",
        "outcome>1",
        "!outcome",
        "out come=success",
        "outcome=two words",
        "context.=x",
        "outcome=success=x",
    ],
)
def test_syntax_errors_raise_with_hint(text: str) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert text in str(info.value)
    assert info.value.hint


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(ConditionSyntaxError, ValueError)


def test_bad_condition_surfaces_as_condition_syntax_diagnostic() -> None:
    source = pipeline(
        '  work [prompt="p"]\n  start -> work\n  work -> exit [condition="outcome==x"]'
    )
    found = [d for d in diagnostics_for(source) if d.rule == "condition_syntax"]
    assert len(found) == 1
    assert found[0].severity.value == "error"
    assert found[0].edge == ("work", "exit")
    assert found[0].line == 7
    assert found[0].fix
