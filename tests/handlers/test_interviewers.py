"""Spec §6: the built-in interviewers and the ``--interviewer`` spec strings."""

from __future__ import annotations

import io
import json
import os

import pytest
import trio
import trio.testing

from attractor_core.human import Answer, AnswerValue, Option, Question, QuestionType
from attractor_handlers.interviewers import (
    AutoApproveInterviewer,
    CallbackInterviewer,
    ConsoleInterviewer,
    InterviewerSpecError,
    QueueInterviewer,
    RecordingInterviewer,
    make_interviewer,
)

from .helpers import run_node

CHOICE = Question(
    "Deploy?", options=(Option("Y", "[Y] Yes, deploy"), Option("N", "[N] No")), stage="gate"
)


async def test_auto_approve_says_yes_and_picks_the_first_option():
    auto = AutoApproveInterviewer()
    assert (await auto.ask(Question("ok?", type=QuestionType.YES_NO))).value is AnswerValue.YES
    answer = await auto.ask(CHOICE)
    assert answer.selected_option == Option("Y", "[Y] Yes, deploy")


async def test_queue_hands_out_answers_then_skips():
    queue = QueueInterviewer(["N"])
    assert (await queue.ask(CHOICE)).value == "N"
    assert (await queue.ask(CHOICE)).is_skipped


async def test_callback_accepts_sync_and_async_functions_returning_text_or_answers():
    async def async_answer(question: Question) -> Answer:
        await trio.sleep(0)
        return Answer(AnswerValue.NO)

    assert (await CallbackInterviewer(lambda q: "Y").ask(CHOICE)).value == "Y"
    assert (await CallbackInterviewer(async_answer).ask(CHOICE)).value is AnswerValue.NO
    with pytest.raises(TypeError, match="return an Answer or a str"):
        await CallbackInterviewer(lambda q: 42).ask(CHOICE)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("auto", AutoApproveInterviewer), ("console", ConsoleInterviewer),
     ("recording:auto", RecordingInterviewer)],
)
def test_spec_strings_build_the_named_interviewer(spec, kind):
    assert isinstance(make_interviewer(spec), kind)


def test_a_spec_that_is_not_ours_is_left_to_other_plugins():
    assert make_interviewer("slack:#releases") is None
    assert make_interviewer("auto:extra") is None


def test_recording_around_an_unknown_spec_is_a_usage_error():
    with pytest.raises(InterviewerSpecError, match="queue:FILE"):
        make_interviewer("recording:telepathy")


def pipe_with(text: bytes, close: bool = True) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, text)
    if close:
        os.close(write_fd)
    return read_fd, write_fd


async def test_console_reprompts_on_a_typo_and_keeps_unread_answers_for_the_next_question():
    read_fd, _ = pipe_with(b"maybe\n2\ny\n")
    shown = io.StringIO()
    console = ConsoleInterviewer(input_fd=read_fd, output=shown)
    answer = await console.ask(CHOICE)
    assert answer.selected_option == Option("N", "[N] No")
    assert "'maybe' is not an option" in shown.getvalue()
    assert "  [Y] Yes, deploy\n" in shown.getvalue() and "[Y] [Y]" not in shown.getvalue()
    yes_no = await console.ask(Question("Sure?", type=QuestionType.YES_NO))
    assert yes_no.value is AnswerValue.YES
    os.close(read_fd)


async def test_console_end_of_input_is_the_default_else_skipped():
    read_fd, _ = pipe_with(b"")
    default = Answer("N", selected_option=Option("N", "[N] No"))
    console = ConsoleInterviewer(input_fd=read_fd, output=io.StringIO())
    with_default = Question("Deploy?", options=CHOICE.options, default=default)
    assert await console.ask(with_default) == default
    assert (await console.ask(CHOICE)).is_skipped
    os.close(read_fd)


async def test_console_read_is_cancellable_and_leaves_the_descriptor_blocking():
    read_fd, write_fd = pipe_with(b"", close=False)
    console = ConsoleInterviewer(input_fd=read_fd, output=io.StringIO())
    with trio.move_on_after(0.05) as scope:
        await console.ask(CHOICE)
    assert scope.cancelled_caught
    assert os.get_blocking(read_fd)
    os.write(write_fd, b"Y\n")  # the console still works after the cancelled read
    assert (await console.ask(CHOICE)).selected_option.key == "Y"
    os.close(read_fd)
    os.close(write_fd)


async def test_recording_spec_writes_each_exchange_to_the_logs_root(make_run, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("fix\n")
    run = make_run("review", options={"interviewer": f"recording:queue:{answers}"})
    run.logs_root.mkdir()
    record_file = run.logs_root / "interviews.json"
    record_file.write_text(json.dumps([{"question": {"text": "earlier"}, "answer": {}}]))
    dot = """digraph g { review [shape=hexagon, label="Merge?"]
      review -> merge [label="Merge"]; review -> fix [label="Fix"] }"""
    outcome = await run_node(dot, "review", run)
    assert outcome.suggested_next_ids == ("fix",)
    records = json.loads(record_file.read_text())
    assert records[0]["question"]["text"] == "earlier"  # a resumed run appends
    assert records[1]["question"]["text"] == "Merge?"
    assert records[1]["question"]["stage"] == "review"
    assert records[1]["answer"]["value"] == "fix"


async def test_recording_keeps_pairs_in_memory_and_writes_to_a_given_path(tmp_path):
    path = tmp_path / "qa.json"
    recorder = RecordingInterviewer(QueueInterviewer(["Y"]), path=path)
    await recorder.ask(CHOICE)
    assert recorder.recordings == [(CHOICE, Answer("Y"))]
    [record] = json.loads(path.read_text())
    assert record["question"]["options"][0] == {"key": "Y", "label": "[Y] Yes, deploy"}


def asked_at(stage: str, execution: int, logs_root) -> Question:
    metadata = {"logs_root": str(logs_root), "execution": execution}
    return Question("Deploy?", options=CHOICE.options, stage=stage, metadata=metadata)


async def test_a_queue_file_position_survives_a_restart_of_the_process(tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("Y\nN\n")
    logs = tmp_path / "logs"
    before = make_interviewer(f"queue:{answers}")
    assert (await before.ask(asked_at("first", 1, logs))).value == "Y"
    after = make_interviewer(f"queue:{answers}")  # a resumed run builds a new one
    # The gate that was interrupted before its checkpoint is asked again: same answer.
    assert (await after.ask(asked_at("first", 1, logs))).value == "Y"
    assert (await after.ask(asked_at("second", 1, logs))).value == "N"
    assert (await after.ask(asked_at("third", 1, logs))).is_skipped


async def test_a_different_queue_file_starts_from_its_first_line(tmp_path):
    logs = tmp_path / "logs"
    for name in ("one.txt", "two.txt"):
        (tmp_path / name).write_text(f"{name}\n")
    first = make_interviewer(f"queue:{tmp_path / 'one.txt'}")
    await first.ask(asked_at("gate", 1, logs))
    second = make_interviewer(f"queue:{tmp_path / 'two.txt'}")
    assert (await second.ask(asked_at("gate", 2, logs))).value == "two.txt"


async def test_console_asks_concurrent_gates_one_at_a_time():
    read_fd, write_fd = pipe_with(b"", close=False)
    shown = io.StringIO()
    console = ConsoleInterviewer(input_fd=read_fd, output=shown)
    answers: list[Answer] = []

    async def ask(stage: str) -> None:
        question = Question(f"Deploy {stage}?", options=CHOICE.options, stage=stage)
        answers.append(await console.ask(question))

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "one")
            nursery.start_soon(ask, "two")
            await trio.testing.wait_all_tasks_blocked()
            assert shown.getvalue().count("[?] ") == 1  # the other gate waits its turn
            os.write(write_fd, b"Y\n")
            while shown.getvalue().count("[?] ") < 2:
                await trio.sleep(0.01)
            os.write(write_fd, b"N\n")
    assert [a.selected_option.key for a in answers] == ["Y", "N"]
    os.close(read_fd)
    os.close(write_fd)


async def test_ask_multiple_answers_a_batch_in_order_for_every_builtin_interviewer(tmp_path):
    """Spec §6.1 ask_multiple: one answer per question, in the order asked."""
    freeform = Question("Why?", type=QuestionType.FREEFORM, stage="gate")
    yes_no = Question("Sure?", type=QuestionType.YES_NO, stage="gate")
    batch = [CHOICE, yes_no, freeform]

    auto = await AutoApproveInterviewer().ask_multiple(batch)
    assert [a.describe() for a in auto] == ["[Y] Yes, deploy", "yes", "auto-approved"]

    queue = await QueueInterviewer(["N", "n"]).ask_multiple(batch)
    assert [a.value for a in queue[:2]] == ["N", "n"] and queue[2].is_skipped

    asked: list[str] = []
    callback = CallbackInterviewer(lambda q: asked.append(q.text) or q.text.upper())
    assert [a.value for a in await callback.ask_multiple(batch)] == ["DEPLOY?", "SURE?", "WHY?"]
    assert asked == ["Deploy?", "Sure?", "Why?"]

    read_fd, _ = pipe_with(b"2\ny\nbecause\n")
    console = ConsoleInterviewer(input_fd=read_fd, output=io.StringIO())
    answers = await console.ask_multiple(batch)
    assert answers[0].selected_option == Option("N", "[N] No")
    assert answers[1].value is AnswerValue.YES
    assert answers[2].text == "because"
    os.close(read_fd)

    record = tmp_path / "interviews.json"
    recording = RecordingInterviewer(QueueInterviewer(["Y", "y", "ship it"]), path=record)
    await recording.ask_multiple(batch)
    assert [q.text for q, _ in recording.recordings] == ["Deploy?", "Sure?", "Why?"]
    written = json.loads(record.read_text())
    assert [r["answer"]["value"] for r in written] == ["Y", "y", "ship it"]
