"""The fan-in handler (spec §4.9, ``shape=tripleoctagon``): pick the best branch.

Candidates are the branches that finished: neither ``fail`` nor
``canceled`` (a canceled or never-started branch never wins, W2). They
rank by status (success, partial_success, retry, anything else), then
higher score, then branch key, then index. The winner's context changes
(minus ``parallel.*`` keys, which belong to this fan-out) are applied, so
later stages see the winning branch's results. If no branch is a
candidate the node fails with every branch's reason, one aggregated
class and the signature ``parallel_all_failed|<class>|...``.

A fan-in with a ``prompt`` will be ranked by an LLM once step 5 lands;
until then the heuristic decides and a warning says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cattrs

from attractor_core.model import Context, FailureClass, Graph, Node, Outcome, StageStatus
from attractor_core.model.branch import BranchResult
from attractor_core.protocols import StageRun
from attractor_core.runtime.events import Warning
from attractor_core.runtime.serialization import CONVERTER
from attractor_handlers.join_policies import all_failed

_RANK = {StageStatus.SUCCESS.value: 0, StageStatus.PARTIAL_SUCCESS.value: 1,
         StageStatus.RETRY.value: 2}
_NEVER_WIN = frozenset({StageStatus.FAIL.value, "canceled"})


class FanInError(ValueError):
    """``parallel.results`` is missing or unreadable."""


class FanInHandler:
    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        try:
            results = read_results(node, context)
        except FanInError as exc:
            return Outcome.fail(str(exc), FailureClass.STRUCTURAL.value)
        best = select_winner(results)
        if best is None:
            verdict = all_failed(results)
            return Outcome.fail(verdict.reason, verdict.failure_class,
                                failure_signature=verdict.failure_signature,
                                context_updates={"parallel.fan_in.best_id": "",
                                                 "parallel.fan_in.best_outcome": ""})
        note = ""
        if node.prompt:
            note = "; LLM ranking arrives in step 5, the status/score heuristic chose"
            run.emit(Warning(f"fan-in node {node.id} has a prompt but LLM ranking is not "
                             "available yet; the heuristic (status, score, key) chose the "
                             "winner", node.id))
        return Outcome.success(
            notes=f"selected best candidate: {best.branch_key} ({best.status}){note}",
            context_updates=_winner_updates(best, results))


def read_results(node: Node, context: Context) -> list[BranchResult]:
    raw = context.get("parallel.results")
    if raw is None:
        raise FanInError(f"fan-in node {node.id}: no parallel.results in the context; a fan-in "
                         "node must be the join of a parallel node (shape=component)")
    if not isinstance(raw, list) or not raw:
        raise FanInError(f"fan-in node {node.id}: parallel.results holds no branch results")
    try:
        return [CONVERTER.structure(_fields(row), BranchResult) for row in raw]
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        raise FanInError(f"fan-in node {node.id}: parallel.results is malformed: {exc}") from None


def _fields(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise TypeError(f"a branch result must be an object, not {type(row).__name__}")
    return {k: v for k, v in row.items() if k != "finish_order"}


def rank_key(result: BranchResult) -> tuple[int, float, str, int]:
    return (_RANK.get(result.status, 3), -result.score, result.branch_key, result.index)


def select_winner(results: Sequence[BranchResult]) -> BranchResult | None:
    """The best branch that finished, or ``None`` if every branch failed or was canceled."""
    candidates = [r for r in results if r.status not in _NEVER_WIN]
    return min(candidates, key=rank_key) if candidates else None


def _winner_updates(best: BranchResult, results: Sequence[BranchResult]) -> dict[str, Any]:
    updates = {k: v for k, v in best.context_updates.items() if not k.startswith("parallel.")}
    updates.update({
        "parallel.fan_in.best_id": best.branch_key,
        "parallel.fan_in.best_index": best.index,
        "parallel.fan_in.best_outcome": best.status,
        "parallel.fan_in.losers": [r.branch_key for r in results if r.index != best.index],
    })
    return updates
