"""The ``simulate`` codergen backend: no LLM, outcomes scripted per node in the DOT file.

Node attributes (all optional; docs/handlers.md has examples):

``sim.outcome``          one outcome, or a comma list consumed one entry per
                         execution of the node (across visits, retries and
                         resumes); the last entry repeats. Any case. A word
                         that is not a status (``needs_dod``) is a custom
                         outcome, routed on by ``outcome=needs_dod``. Default
                         ``success``.
``sim.failure_reason``   reason for ``fail``/``retry`` (default ``simulated failure``)
``sim.failure_class``    e.g. ``transient_infra`` to make a failure retryable
``sim.preferred_label``  the edge label to prefer
``sim.suggested_next_ids`` comma list of node ids
``sim.context_updates``  a JSON object merged into the context
``sim.delay``            how long the "LLM" takes (``250ms``, ``2s``); cancellable

Like an agent following the status-file contract, it writes
``response.md`` and reports its status (spec Appendix C fields, plus the
failure fields and ``run_id``/``node_id``/``attempt``) through
``report_status``: in a run the engine takes it as the stage's status.json
and writes that file once; driven without the engine it writes the file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Any

import trio

from attractor_core.sdk import (
    Context,
    Duration,
    FailureClass,
    Node,
    Outcome,
    OutcomeTokenError,
    StageRun,
    StageStatus,
    ValueFormatError,
    parse_outcome,
    report_status,
    write_text_atomic,
)
from attractor_handlers.attribute_schema import DEFAULT_FAILURE_REASON
from attractor_handlers.codergen import response_context


class SimulationScriptError(ValueError):
    """A ``sim.*`` attribute cannot be understood."""


class SimulateBackend:
    # Its status is the outcome it reports; it starts no agent that could write a status
    # file, so the engine skips the fallback status files at its stages.
    status_in_process = True

    async def run(self, node: Node, prompt: str, context: Context, run: StageRun) -> str | Outcome:
        response = f"[Simulated] Response for stage: {node.id} (execution {run.execution})\n"
        try:
            delay = scripted_delay(node)
            outcome = scripted_outcome(node, run.execution, response_context(node, response))
        except SimulationScriptError as exc:
            return Outcome.fail(str(exc), FailureClass.DETERMINISTIC.value)
        if delay is not None:
            await trio.sleep(delay.seconds)
        # os.path.join: a Path join and its str cost more than the write's own Python.
        write_text_atomic(os.path.join(run.stage_dir, "response.md"), response)
        report_status(run, node.id, outcome)
        return outcome


def scripted_status(node: Node, execution: int) -> tuple[StageStatus, str]:
    """``(status, custom)`` of the ``sim.outcome`` entry for this execution (1-based);
    the last entry repeats. An entry that is not a status is a custom outcome."""
    try:
        outcomes = _parse_script(node.get("sim.outcome", "success"))
    except OutcomeTokenError as exc:
        raise SimulationScriptError(f"node {node.id}: sim.outcome entry {exc}") from None
    return outcomes[min(max(execution, 1), len(outcomes)) - 1]


@functools.lru_cache(maxsize=256)
def _parse_script(script: str) -> tuple[tuple[StageStatus, str], ...]:
    """Every entry is checked at once, so a typo in a later entry fails the first execution.
    Parsed once per script text: a pipeline's nodes share a few scripts."""
    entries = [e.strip() for e in script.split(",") if e.strip()]
    return tuple(parse_outcome(entry) for entry in entries) or ((StageStatus.SUCCESS, ""),)


def scripted_outcome(node: Node, execution: int,
                     context_defaults: Mapping[str, Any] | None = None) -> Outcome:
    """The scripted outcome; its context updates are ``sim.context_updates`` over
    ``context_defaults``."""
    status, custom = scripted_status(node, execution)
    failing = status in (StageStatus.FAIL, StageStatus.RETRY)
    ids = tuple(i.strip() for i in node.get("sim.suggested_next_ids").split(",") if i.strip())
    return Outcome(
        status,
        custom=custom,
        preferred_label=node.get("sim.preferred_label"),
        suggested_next_ids=ids,
        context_updates={**(context_defaults or {}), **scripted_context_updates(node)},
        notes=f"simulated {custom or status.value} for {node.id} (execution {execution})",
        failure_reason=_scripted_reason(node) if failing else "",
        failure_class=node.get("sim.failure_class") if failing else "",
    )


def _scripted_reason(node: Node) -> str:
    return node.get("sim.failure_reason") or DEFAULT_FAILURE_REASON


def scripted_context_updates(node: Node) -> dict[str, Any]:
    raw = node.get("sim.context_updates").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SimulationScriptError(
            f"node {node.id}: sim.context_updates is not valid JSON ({exc}); "
            "write a JSON object such as {\"key\": \"value\"}"
        ) from None
    if not isinstance(value, dict):
        raise SimulationScriptError(
            f"node {node.id}: sim.context_updates must be a JSON object, got {type(value).__name__}"
        )
    return value


def scripted_delay(node: Node) -> Duration | None:
    raw = node.get("sim.delay").strip()
    if not raw:
        return None
    try:
        return Duration.parse(raw)
    except ValueFormatError as exc:
        raise SimulationScriptError(f"node {node.id}: sim.delay: {exc}") from None

