"""Preamble synthesis (spec §5.4): the run so far, told at the stage's fidelity.

| mode           | what the preamble carries                                          |
|----------------|--------------------------------------------------------------------|
| truncate       | the goal and the run id                                            |
| compact        | + every completed stage with its outcome, and the context values   |
| summary:low    | goal, stage counts and the last outcome (~600 tokens at most)      |
| summary:medium | + the last 8 outcomes and the context values (~1500 tokens)        |
| summary:high   | + the last 20 outcomes and excerpts of recent responses (~3000)    |
| full           | everything above, responses whole, no budget                       |

The CLI backend starts a fresh LLM session per stage, so for it ``full``
carries the whole record in the prompt; the ``api`` backend continues a
conversation thread instead (``threads``) and uses this text only for the
first stage of a thread.
The record is read from the run's public artifacts: the checkpoint
(``load_checkpoint``: snapshot plus journal; completed stages and outcomes)
and each stage's ``response.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from attractor_core.sdk import CheckpointError, load_checkpoint

# Keys the engine sets for routing; the preamble lists what stages produced.
_ENGINE_KEYS = frozenset({"outcome", "preferred_label", "failure_reason", "failure_class",
                          "failure_signature", "failed_node_id", "current_node", "last_stage",
                          "last_response"})
_BUDGET_CHARS = {"summary:low": 2_400, "summary:medium": 6_000, "summary:high": 12_000}
_RECENT = {"summary:medium": 8, "summary:high": 20}
_VALUE_CHARS = 200
_WITH_RESPONSES = ("summary:high", "full")


@frozen
class StageRecord:
    node_id: str
    status: str
    failure_reason: str = ""


@frozen
class RunSoFar:
    run_id: str
    goal: str
    stages: tuple[StageRecord, ...]
    context: Mapping[str, Any] = field(factory=dict)
    responses: Mapping[str, str] = field(factory=dict)


def read_run_so_far(logs_root: Path, run_id: str, context: Mapping[str, Any],
                    mode: str = "full") -> RunSoFar:
    """Completed stages (``checkpoint.json``), and responses when ``mode`` shows them."""
    try:
        checkpoint = load_checkpoint(logs_root / "checkpoint.json")
    except CheckpointError:
        return RunSoFar(run_id, str(context.get("graph.goal", "")), (), context)
    outcomes = checkpoint.node_outcomes
    stages = [StageRecord(node, outcomes[node].status if node in outcomes else "",
                          outcomes[node].failure_reason if node in outcomes else "")
              for node in checkpoint.completed_nodes]
    responses = {}
    for stage in stages if mode in _WITH_RESPONSES else ():
        path = logs_root / stage.node_id / "response.md"
        if path.is_file():
            responses[stage.node_id] = path.read_text(encoding="utf-8", errors="replace")
    return RunSoFar(run_id, str(context.get("graph.goal", "")), tuple(stages), context,
                    responses)


def synthesize(mode: str, run: RunSoFar) -> str:
    lines = [f"## Run context (fidelity: {mode})", f"Goal: {run.goal or '(none)'}",
             f"Run: {run.run_id}"]
    if mode == "truncate":
        return "\n".join(lines)
    if mode == "summary:low":
        lines += _counts(run)
    else:
        recent = _RECENT.get(mode, len(run.stages))
        lines += _stage_lines(run.stages[-recent:] if recent else ())
        lines += _context_lines(run.context, full=mode == "full")
    if mode in _WITH_RESPONSES:
        lines += _response_lines(run, whole=mode == "full")
    text = "\n".join(lines)
    budget = _BUDGET_CHARS.get(mode)
    if budget is not None and len(text) > budget:
        text = text[:budget] + f"\n[... run context cut to {budget} characters ...]"
    return text


def _counts(run: RunSoFar) -> list[str]:
    statuses = [s.status for s in run.stages]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
    lines = [f"Stages completed: {len(run.stages)}" + (f" ({counts})" if counts else "")]
    if run.stages:
        last = run.stages[-1]
        lines.append(f"Last stage: {last.node_id} ended {last.status}")
    return lines


def _stage_lines(stages: tuple[StageRecord, ...]) -> list[str]:
    if not stages:
        return ["Completed stages: none yet"]
    lines = ["Completed stages:"]
    for stage in stages:
        reason = f" ({stage.failure_reason})" if stage.failure_reason else ""
        lines.append(f"- {stage.node_id}: {stage.status}{reason}")
    return lines


def _context_lines(context: Mapping[str, Any], *, full: bool) -> list[str]:
    shown = {k: v for k, v in sorted(context.items())
             if k not in _ENGINE_KEYS and not k.startswith(("internal.", "graph."))}
    if not shown:
        return []
    lines = ["Context:"]
    for key, value in shown.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if not full and len(text) > _VALUE_CHARS:
            text = text[:_VALUE_CHARS] + "..."
        lines.append(f"- {key}: {text}")
    return lines


def _response_lines(run: RunSoFar, *, whole: bool) -> list[str]:
    chosen = list(run.responses.items()) if whole else list(run.responses.items())[-5:]
    lines: list[str] = []
    for node_id, text in chosen:
        body = text if whole or len(text) <= 1_500 else text[:1_500] + "\n[...]"
        lines += [f"### Response of {node_id}", body.rstrip()]
    return lines
