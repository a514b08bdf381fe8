"""The choices of a human gate (spec §4.6): one per outgoing edge, in declaration order.

Also the one place that turns typed text into an option, shared by the
gate handler and by interviewers that must re-prompt on a typo.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from attrs import frozen

from attractor_core.sdk import Answer, AnswerValue, Graph, Option

# "[A] Approve", "A) Approve", "A - Approve": the key is one character or word.
_ACCELERATOR_PATTERNS = (
    re.compile(r"^\s*\[(\w+)\]\s*(.*)$"),
    re.compile(r"^\s*(\w)\)\s*(.*)$"),
    re.compile(r"^\s*(\w)\s+-\s+(.*)$"),
)


@frozen
class Choice:
    """An option of the gate and the edge target it leads to."""

    key: str
    label: str
    target: str

    @property
    def option(self) -> Option:
        return Option(self.key, self.label)


def parse_accelerator(label: str) -> tuple[str, str]:
    """Split ``label`` into (key, text without the accelerator); the key is upper-cased.

    Without a marked accelerator the key is the first character of the label.
    """
    for pattern in _ACCELERATOR_PATTERNS:
        match = pattern.match(label)
        if match:
            return match.group(1).upper(), match.group(2).strip()
    stripped = label.strip()
    return stripped[:1].upper(), stripped


def option_text(option: Option) -> str:
    """How an option is shown: ``[S] Ship``. A label that already carries its
    accelerator (``[S] Ship``, ``S) Ship``, ``S - Ship``) is shown as written."""
    if any(p.match(option.label) for p in _ACCELERATOR_PATTERNS):
        return option.label
    return f"[{option.key}] {option.label}"


def choices_from_edges(graph: Graph, node_id: str) -> tuple[Choice, ...]:
    """One choice per outgoing edge of ``node_id``, in declaration order."""
    choices = []
    for edge in graph.outgoing(node_id):
        label = edge.label or edge.target
        key, _ = parse_accelerator(label)
        choices.append(Choice(key=key, label=label, target=edge.target))
    return tuple(choices)


def duplicate_keys(choices: Sequence[Choice]) -> tuple[str, ...]:
    """Accelerator keys used by more than one choice (typing them picks the first)."""
    seen: set[str] = set()
    dupes: list[str] = []
    for choice in choices:
        if choice.key in seen and choice.key not in dupes:
            dupes.append(choice.key)
        seen.add(choice.key)
    return tuple(dupes)


def find_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice ``text`` names, or ``None``.

    Tried in order, case-insensitively: accelerator key, full label, label
    without its accelerator, target node id, then a 1-based number.
    """
    wanted = text.strip().casefold()
    if not wanted:
        return None
    matchers = (
        lambda c: c.key.casefold() == wanted,
        lambda c: c.label.strip().casefold() == wanted,
        lambda c: parse_accelerator(c.label)[1].casefold() == wanted,
        lambda c: c.target.casefold() == wanted,
    )
    for matches in matchers:
        for choice in choices:
            if matches(choice):
                return choice
    if wanted.isdigit() and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1]
    return None


def choice_for_answer(answer: Answer, choices: Sequence[Choice]) -> Choice | None:
    """The choice an answer selects; ``YES`` selects the first (approving) choice."""
    if answer.selected_option is not None:
        for choice in choices:
            if choice.option == answer.selected_option:
                return choice
        return find_choice(answer.selected_option.key, choices)
    if answer.value is AnswerValue.YES:
        return choices[0] if choices else None
    if isinstance(answer.value, AnswerValue):
        return None
    return find_choice(answer.value or answer.text, choices)


def find_option(text: str, options: Sequence[Option]) -> Option | None:
    """Like :func:`find_choice`, for interviewers that only see a question's options."""
    as_choices = [Choice(o.key, o.label, "") for o in options]
    found = find_choice(text, as_choices)
    return None if found is None else found.option
