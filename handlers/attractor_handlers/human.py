"""The wait.human handler (spec §4.6, §6): a gate where a human picks the next edge.

Each outgoing edge is an option, in declaration order, keyed by its
accelerator (``[A] Approve``, ``A) Approve``, ``A - Approve``, else the
first letter). The interviewer comes from the run option ``interviewer``
(``--interviewer``). The node's ``timeout`` (or ``human.timeout``) bounds
the question; on timeout ``human.default_choice`` (a target node id, key
or label) is taken, and without one the stage asks for a retry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import trio

from attractor_core.sdk import (
    Answer,
    AnswerValue,
    Context,
    Duration,
    FailureClass,
    Graph,
    Node,
    Outcome,
    PreflightSettings,
    Question,
    QuestionType,
    StageRun,
    StageStatus,
    ValueFormatError,
)
from attractor_core.sdk import Warning as WarningEvent
from attractor_handlers.choices import (
    Choice,
    choice_for_answer,
    choices_from_edges,
    duplicate_keys,
    find_choice,
    option_text,
)
from attractor_handlers.events import InterviewCompleted, InterviewStarted, InterviewTimeout
from attractor_handlers.interviewers import InterviewerSpecError, resolve_interviewer

DEFAULT_INTERVIEWER = "auto"
# When the engine enforces the same node timeout on the attempt, answer with
# the default this much earlier, so the gate's timeout rule wins over a kill.
_DEADLINE_MARGIN_SECONDS = 0.1



class GateConfigError(ValueError):
    """A wait.human node's attributes cannot be used."""


class WaitForHumanHandler:
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False
    # The node timeout bounds the question (then the default choice applies);
    # an engine that honours this flag does not also cancel the attempt.
    owns_timeout = True

    def __init__(self) -> None:
        # One interviewer per (run, spec): a queue or console keeps its
        # position across the gates of a run.
        self._interviewers: dict[tuple[str, str], Any] = {}

    def preflight(self, node: Node, graph: Graph, run: PreflightSettings) -> Sequence[str]:
        """An ``--interviewer`` that no plugin knows is refused before the run starts,
        not when the first gate asks."""
        option = run.option("interviewer")
        if not isinstance(option, str):
            return []
        try:
            resolve_interviewer(option, run.plugin_hook())
        except InterviewerSpecError as exc:
            return [str(exc)]
        return []

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        choices = choices_from_edges(graph, node.id)
        if not choices:
            return Outcome.fail(
                f"human gate {node.id} has no outgoing edges; add one edge per choice",
                FailureClass.STRUCTURAL.value,
            )
        try:
            interviewer = self._interviewer(run)
            default = default_choice(node, choices)
            timeout = question_timeout(node)
        except (InterviewerSpecError, GateConfigError, ValueFormatError) as exc:
            return Outcome.fail(str(exc), FailureClass.DETERMINISTIC.value)
        _warn_duplicate_keys(node, choices, run)
        question = _question(node, choices, default, timeout, run)
        answer, waited_ms = await _ask(interviewer, question, timeout, node, run)
        return _decide(node, question, answer, choices, default, waited_ms, run)

    def _interviewer(self, run: StageRun) -> Any:
        option = run.option("interviewer", DEFAULT_INTERVIEWER)
        if not isinstance(option, str):
            return resolve_interviewer(option, run.plugin_hook())
        key = (run.run_id, option)
        if key not in self._interviewers:
            self._interviewers[key] = resolve_interviewer(option, run.plugin_hook())
        return self._interviewers[key]


def default_choice(node: Node, choices: tuple[Choice, ...]) -> Choice | None:
    raw = node.get("human.default_choice").strip()
    if not raw:
        return None
    found = find_choice(raw, choices)
    if found is None:
        targets = ", ".join(c.target for c in choices)
        raise GateConfigError(
            f"human gate {node.id}: human.default_choice={raw!r} names no outgoing edge; "
            f"use one of the targets {targets}"
        )
    return found


def question_timeout(node: Node) -> Duration | None:
    """``human.timeout`` if set, else the node's ``timeout``."""
    return node.get_duration("human.timeout") or node.timeout


def _question(
    node: Node, choices: tuple[Choice, ...], default: Choice | None, timeout: Duration | None,
    run: StageRun,
) -> Question:
    return Question(
        text=node.attrs.get("label") or node.prompt or "Select an option:",
        type=QuestionType.MULTIPLE_CHOICE,
        options=tuple(c.option for c in choices),
        default=None if default is None else Answer(default.key, selected_option=default.option),
        timeout_seconds=None if timeout is None else timeout.seconds,
        stage=node.id,
        metadata={
            "node_id": node.id, "run_id": run.run_id, "logs_root": str(run.logs_root),
            "stage_dir": str(run.stage_dir), "attempt": run.attempt, "execution": run.execution,
        },
    )


async def _ask(
    interviewer: Any, question: Question, timeout: Duration | None, node: Node, run: StageRun
) -> tuple[Answer, int]:
    run.emit(InterviewStarted(node.id, question.text, tuple(o.label for o in question.options)))
    started = trio.current_time()
    answer: Answer | None = None
    with trio.move_on_at(_question_deadline(timeout)):
        answer = await interviewer.ask(question)
    waited_ms = round((trio.current_time() - started) * 1000)
    return answer or Answer(AnswerValue.TIMEOUT), waited_ms


def _question_deadline(timeout: Duration | None) -> float:
    if timeout is None:
        return math.inf
    own = trio.current_time() + timeout.seconds
    return min(own, trio.current_effective_deadline() - _DEADLINE_MARGIN_SECONDS)


def _decide(
    node: Node, question: Question, answer: Answer, choices: tuple[Choice, ...],
    default: Choice | None, waited_ms: int, run: StageRun,
) -> Outcome:
    if answer.is_timeout:
        chosen = default.target if default else ""
        run.emit(InterviewTimeout(node.id, question.text, waited_ms, chosen))
        if default is None:
            return Outcome(
                StageStatus.RETRY,
                failure_reason=(
                    f"human gate {node.id}: no answer within {question.timeout_seconds:g}s and no "
                    "human.default_choice; answer sooner or set human.default_choice"
                ),
            )
        return _selected(node, default, "default choice after timeout")
    choice = choice_for_answer(answer, choices)
    said = choice.label if choice else answer.describe()
    run.emit(InterviewCompleted(node.id, question.text, said, waited_ms))
    if answer.is_skipped:
        detail = f": {answer.text}" if answer.text else " (skipped)"
        return Outcome.fail(
            f"human gate {node.id}: not answered{detail}", FailureClass.DETERMINISTIC.value
        )
    if choice is None:
        listed = ", ".join(option_text(c.option) for c in choices)
        return Outcome.fail(
            f"human gate {node.id}: answer {answer.describe()!r} matches no option; "
            f"options: {listed}",
            FailureClass.DETERMINISTIC.value,
        )
    return _selected(node, choice, "human selected")


def _selected(node: Node, choice: Choice, how: str) -> Outcome:
    return Outcome(
        StageStatus.SUCCESS,
        preferred_label=choice.label,
        suggested_next_ids=(choice.target,),
        context_updates={"human.gate.selected": choice.key, "human.gate.label": choice.label},
        notes=f"{how}: [{choice.key}] {choice.label} -> {choice.target}",
    )


def _warn_duplicate_keys(node: Node, choices: tuple[Choice, ...], run: StageRun) -> None:
    for key in duplicate_keys(choices):
        run.emit(WarningEvent(
            f"human gate {node.id}: accelerator key {key!r} is used by several edges; "
            "typing it picks the first", node_id=node.id,
        ))
