"""Spec §4.6, §6.5: the wait.human handler turns outgoing edges into a question."""

from __future__ import annotations

import trio

from attractor_core.human import Answer, AnswerValue, Question
from attractor_core.model import StageStatus
from attractor_core.registry import HandlerRegistry
from attractor_handlers.interviewers import CallbackInterviewer, QueueInterviewer

from .helpers import events_named, run_node

GATE = """digraph g {
  review [shape=hexagon, label="Ship the release?" %s]
  review -> ship [label="[A] Approve"]
  review -> fix [label="R) Rework"]
  review -> boss [label="E - Escalate"]
  review -> later [label="Snooze"]
  review -> drop
}"""


def gate(extra: str = "") -> str:
    return GATE % extra


def asked(questions: list[Question]) -> CallbackInterviewer:
    """An interviewer that records the question and answers its second option."""

    def answer(question: Question) -> Answer:
        questions.append(question)
        return Answer(question.options[1].key, selected_option=question.options[1])

    return CallbackInterviewer(answer)


async def test_options_follow_edge_declaration_order_with_accelerator_keys(make_run):
    questions: list[Question] = []
    await run_node(gate(), "review", make_run("review", options={"interviewer": asked(questions)}))
    [question] = questions
    assert question.text == "Ship the release?"
    assert [(o.key, o.label) for o in question.options] == [
        ("A", "[A] Approve"), ("R", "R) Rework"), ("E", "E - Escalate"), ("S", "Snooze"),
        ("D", "drop"),
    ]
    assert question.stage == "review"
    assert question.metadata["run_id"] == "test-run"


async def test_auto_interviewer_picks_the_first_declared_edge(make_run):
    run = make_run("review")  # no interviewer option: "auto" is the default
    outcome = await run_node(gate(), "review", run)
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.preferred_label == "[A] Approve"
    assert outcome.suggested_next_ids == ("ship",)
    assert outcome.context_updates == {
        "human.gate.selected": "A", "human.gate.label": "[A] Approve",
    }
    [started] = events_named(run, "interview_started")
    assert started.options == ("[A] Approve", "R) Rework", "E - Escalate", "Snooze", "drop")
    [completed] = events_named(run, "interview_completed")
    assert completed.node_id == "review" and completed.answer == "[A] Approve"


async def test_queue_file_answers_are_consumed_in_order_across_gates(make_run, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("R\n\nescalate\n")
    run = make_run("review", options={"interviewer": f"queue:{answers}"})
    registry = HandlerRegistry.from_plugins(run.pm)  # one run: one handler set
    outcomes = []
    for execution in (1, 2, 3):
        run.execution = execution
        outcomes.append(await run_node(gate(), "review", run, registry=registry))
    first, second, third = outcomes
    assert first.suggested_next_ids == ("fix",) and first.preferred_label == "R) Rework"
    assert second.suggested_next_ids == ("boss",)
    assert third.status is StageStatus.FAIL
    assert third.failure_reason == f"human gate review: not answered: no answers left in {answers}"


async def test_answers_may_name_a_label_a_target_or_a_number(make_run):
    for text, target in (("snooze", "later"), ("DROP", "drop"), ("2", "fix"), ("Approve", "ship")):
        run = make_run("review", options={"interviewer": QueueInterviewer([text])})
        outcome = await run_node(gate(), "review", run)
        assert outcome.suggested_next_ids == (target,), text


async def test_an_answer_matching_no_option_fails_and_lists_the_options(make_run):
    run = make_run("review", options={"interviewer": QueueInterviewer(["maybe"])})
    outcome = await run_node(gate(), "review", run)
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_class == "deterministic"
    assert outcome.failure_reason == (
        "human gate review: answer 'maybe' matches no option; options: [A] Approve, "
        "R) Rework, E - Escalate, [S] Snooze, [D] drop")


def never_answers() -> CallbackInterviewer:
    async def wait(question: Question) -> Answer:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    return CallbackInterviewer(wait)


async def test_timeout_takes_the_default_choice(make_run):
    run = make_run("review", options={"interviewer": never_answers()})
    outcome = await run_node(gate(', timeout="50ms", human.default_choice="fix"'), "review", run)
    assert outcome.status is StageStatus.SUCCESS
    assert outcome.suggested_next_ids == ("fix",)
    assert outcome.context_updates["human.gate.selected"] == "R"
    [timeout] = events_named(run, "interview_timeout")
    assert timeout.default_choice == "fix" and timeout.node_id == "review"
    assert events_named(run, "interview_completed") == []


async def test_human_timeout_attribute_bounds_the_question(make_run):
    run = make_run("review", options={"interviewer": never_answers()})
    attrs = ', human.timeout="50ms", human.default_choice="E"'
    outcome = await run_node(gate(attrs), "review", run)
    assert outcome.suggested_next_ids == ("boss",)


async def test_timeout_without_default_asks_for_a_retry_saying_how_to_fix_it(make_run):
    run = make_run("review", options={"interviewer": never_answers()})
    outcome = await run_node(gate(', timeout="50ms"'), "review", run)
    assert outcome.status is StageStatus.RETRY
    assert "review" in outcome.failure_reason and "human.default_choice" in outcome.failure_reason


async def test_an_interviewer_reporting_timeout_gets_the_default_too(make_run):
    interviewer = QueueInterviewer([Answer(AnswerValue.TIMEOUT)])
    run = make_run("review", options={"interviewer": interviewer})
    outcome = await run_node(gate(', human.default_choice="later"'), "review", run)
    assert outcome.suggested_next_ids == ("later",)


async def test_a_default_choice_naming_no_edge_fails_naming_the_attribute(make_run):
    outcome = await run_node(gate(', human.default_choice="nowhere"'), "review", make_run("review"))
    assert outcome.status is StageStatus.FAIL
    assert "human.default_choice" in outcome.failure_reason
    assert "'nowhere'" in outcome.failure_reason


async def test_a_gate_without_outgoing_edges_fails_as_structural(make_run):
    outcome = await run_node("digraph g { q [shape=hexagon] }", "q", make_run("q"))
    assert outcome.status is StageStatus.FAIL
    assert outcome.failure_class == "structural"
    assert "no outgoing edges" in outcome.failure_reason


async def test_an_unknown_interviewer_spec_fails_with_usage(make_run):
    run = make_run("review", options={"interviewer": "telepathy"})
    outcome = await run_node(gate(), "review", run)
    assert outcome.status is StageStatus.FAIL
    assert "'telepathy'" in outcome.failure_reason and "queue:FILE" in outcome.failure_reason


async def test_an_unreadable_queue_file_fails_naming_the_file(make_run, tmp_path):
    missing = tmp_path / "nope.txt"
    run = make_run("review", options={"interviewer": f"queue:{missing}"})
    outcome = await run_node(gate(), "review", run)
    assert outcome.status is StageStatus.FAIL and str(missing) in outcome.failure_reason


async def test_duplicate_accelerator_keys_warn(make_run):
    dot = """digraph g { g1 [shape=hexagon]
      g1 -> a [label="Approve"]; g1 -> b [label="Abort"] }"""
    run = make_run("g1")
    await run_node(dot, "g1", run)
    [warning] = events_named(run, "warning")
    assert "'A'" in warning.message and warning.node_id == "g1"
