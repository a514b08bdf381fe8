"""The parallel handler (spec §4.8, ``shape=component``): fan out, wait, judge.

The branches are the node's unconditional outgoing edges; the join is
where they meet again (:func:`attractor_handlers.joins.find_join`). Each
branch runs in its own task of one nursery, on its own clone of the
context, through ``run.run_branch`` (the engine's traversal, retries and
checkpoints), at most ``max_parallel`` at a time, started in edge order.
Contexts are never merged back: a branch's changes travel only in its
result, so memory grows by one context clone per running branch.

Early termination (``fail_fast``, ``first_success``, ``k_of_n``) cancels
the branches still running through their own cancel scopes and stops
dispatching; those branches end ``canceled`` and never count as
successes. A cancellation of the run is never caught here: it leaves
through the nursery whatever the error policy says.

The verdict comes from :mod:`attractor_handlers.join_policies`; the
results go to ``parallel_results.json`` in the stage dir and to the
context (``parallel.results``...), and the engine continues at the join.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
from attrs import frozen

from attractor_core.sdk import (
    CONVERTER,
    BranchResult,
    Context,
    FailureClass,
    FanOutReport,
    Graph,
    Node,
    Outcome,
    StageRun,
    write_json_atomic,
)
from attractor_handlers.events import (
    EarlyTermination,
    ParallelBranchCompleted,
    ParallelBranchStarted,
    ParallelCompleted,
    ParallelStarted,
)
from attractor_handlers.join_policies import (
    JoinPolicy,
    JoinVerdict,
    ParallelSettings,
    PolicyError,
    canceled,
    early_stop_reason,
    evaluate_join,
    failed,
    fan_out_report,
    succeeded,
)
from attractor_handlers.joins import branch_starts, find_join, join_problem

RESULTS_FILE = "parallel_results.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@frozen
class BranchPlan:
    """One branch to run: 1-based ``index`` in edge order, directory-safe ``key``."""

    index: int
    key: str
    start: str


def branch_key(target: str, index: int) -> str:
    """The target node id with anything but letters, digits, ``._-`` made ``-``."""
    return _UNSAFE.sub("-", target).strip("-") or f"branch-{index}"


def plan_branches(graph: Graph, node_id: str) -> list[BranchPlan]:
    starts = branch_starts(graph, node_id)
    return [BranchPlan(i, branch_key(t, i), t) for i, t in enumerate(starts, 1)]


class ParallelHandler:
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False
    # Its unconditional edges are its branches: a failed fan-out never walks them onward.
    fans_out = True

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        try:
            settings = ParallelSettings.from_node(node)
        except PolicyError as exc:
            return _structural(str(exc))
        plans = plan_branches(graph, node.id)
        problem = _setup_problem(graph, node, settings, plans)
        join = find_join(graph, node.id)
        if problem or join is None:
            return _structural(problem)
        run.emit(ParallelStarted(node.id, len(plans), join, settings.join_policy.value,
                                 settings.error_policy.value, settings.limit(len(plans))))
        t0 = trio.current_time()
        fan_out = FanOut(run, node.id, settings, join, context)
        results = await fan_out.run_all(plans)
        verdict = evaluate_join(settings, results)
        rows = result_rows(results, fan_out.finish_order())
        _write_results(run.stage_dir / RESULTS_FILE, node.id, join, settings, verdict, rows)
        run.emit(ParallelCompleted(node.id, verdict.status.value,
                                   int((trio.current_time() - t0) * 1000),
                                   sum(1 for r in results if succeeded(r)),
                                   sum(1 for r in results if failed(r)),
                                   sum(1 for r in results if canceled(r))))
        return _outcome(verdict, join, results, rows, fan_out_report(settings, results))


def _setup_problem(graph: Graph, node: Node, settings: ParallelSettings,
                   plans: Sequence[BranchPlan]) -> str:
    missing = join_problem(graph, node.id)
    if missing is not None:
        message, fix = missing
        return f"{message}; {fix}"
    if settings.join_policy is JoinPolicy.K_OF_N and settings.k > len(plans):
        return (f"parallel node {node.id}: k={settings.k} but only {len(plans)} branches; "
                f"set k to at most {len(plans)}")
    return ""


def _structural(reason: str) -> Outcome:
    return Outcome.fail(reason, FailureClass.STRUCTURAL.value)


class FanOut:
    """Runs the branches of one dispatch and collects their results."""

    def __init__(self, run: StageRun, node_id: str, settings: ParallelSettings, join: str,
                 context: Context):
        self.stage, self.node_id, self.settings = run, node_id, settings
        self.join, self.context = join, context
        self.finished: list[BranchResult] = []  # completion order
        self.canceled: list[BranchResult] = []
        self.running: dict[int, trio.CancelScope] = {}
        self.dispatch = trio.CancelScope()
        self.stop_reason = ""
        self.total = 0

    async def run_all(self, plans: Sequence[BranchPlan]) -> list[BranchResult]:
        """Every branch's result: finished ones in completion order, then the canceled."""
        self.total = len(plans)
        done = self._replay(plans)
        limiter = trio.CapacityLimiter(self.settings.limit(len(plans)))
        async with trio.open_nursery() as nursery:
            with self.dispatch:
                for plan in (p for p in plans if p.index not in done):
                    # Acquire before starting the task, so branches start in edge order
                    # and a branch never begins after an early termination.
                    await limiter.acquire_on_behalf_of(plan.index)
                    if self.dispatch.cancel_called:
                        limiter.release_on_behalf_of(plan.index)
                        break
                    scope = self.running[plan.index] = trio.CancelScope()
                    nursery.start_soon(self._branch, plan, scope, limiter)
        seen = {r.index for r in (*self.finished, *self.canceled)}
        never = [self._canceled(p, started=False) for p in plans if p.index not in seen]
        return [*self.finished, *self.canceled, *never]

    def _replay(self, plans: Sequence[BranchPlan]) -> set[int]:
        """Record the branches an interrupted dispatch finished (a resumed run): they are
        not run again, and their early termination holds before any other branch starts."""
        planned = {(p.index, p.key) for p in plans}
        done = set()
        for result in self.stage.finished_branches():
            if (result.index, result.branch_key) in planned:
                done.add(result.index)
                self._record(result)
        return done

    async def _branch(self, plan: BranchPlan, scope: trio.CancelScope,
                      limiter: trio.CapacityLimiter) -> None:
        try:
            # Recorded before the slot is released: an early termination it causes
            # is then in force before the next queued branch could take the slot.
            self._record(await self._run_one(plan, scope))
        finally:
            self.running.pop(plan.index, None)
            limiter.release_on_behalf_of(plan.index)

    async def _run_one(self, plan: BranchPlan, scope: trio.CancelScope) -> BranchResult:
        started = False
        with scope:
            await trio.lowlevel.checkpoint_if_cancelled()
            started = True
            self.stage.emit(ParallelBranchStarted(self.node_id, plan.key, plan.index,
                                                  plan.start))
            return await self.stage.run_branch(plan.start, join=self.join, key=plan.key,
                                               index=plan.index, context=self.context.clone())
        return self._canceled(plan, started)  # reached only when this scope was cancelled

    def _record(self, result: BranchResult) -> None:
        self.stage.emit(ParallelBranchCompleted(self.node_id, result.branch_key, result.index,
                                              result.status, result.duration_ms,
                                              result.failure_reason))
        if canceled(result):
            self.canceled.append(result)
            return
        self.finished.append(result)
        reason = "" if self.stop_reason else early_stop_reason(self.settings, self.finished)
        if reason:
            self._stop(reason)

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stage.emit(EarlyTermination(self.node_id, reason, len(self.finished), self.total))
        self.dispatch.cancel()
        for scope in self.running.values():
            scope.cancel()

    def _canceled(self, plan: BranchPlan, started: bool) -> BranchResult:
        why = self.stop_reason or "canceled"
        if not started:
            return BranchResult.canceled(plan.key, plan.index, plan.start, f"not started: {why}")
        root = (self.stage.logs_root / "parallel" / self.node_id / f"pass-{self.stage.execution}"
                / f"{plan.index}-{plan.key}")
        return BranchResult(plan.key, plan.index, plan.start, "canceled", f"canceled: {why}",
                            FailureClass.CANCELED.value, logs_root=str(root))

    def finish_order(self) -> dict[int, int]:
        return {r.index: n for n, r in enumerate(self.finished, 1)}


def result_rows(results: Sequence[BranchResult], order: dict[int, int]) -> list[dict[str, Any]]:
    """The results as JSON-ready dicts sorted by branch index, each with its
    ``finish_order`` (1 = finished first; 0 = canceled or never started)."""
    rows = []
    for result in sorted(results, key=lambda r: r.index):
        row: dict[str, Any] = CONVERTER.unstructure(result)
        row["finish_order"] = order.get(result.index, 0)
        rows.append(row)
    return rows


def _write_results(path: Path, node_id: str, join: str, settings: ParallelSettings,
                   verdict: JoinVerdict, rows: list[dict[str, Any]]) -> None:
    write_json_atomic(path, {
        "node_id": node_id, "join_node": join,
        "join_policy": settings.join_policy.value, "error_policy": settings.error_policy.value,
        "max_parallel": settings.max_parallel, "status": verdict.status.value,
        "failure_reason": verdict.reason, "results": rows,
    })


def _outcome(verdict: JoinVerdict, join: str, results: Sequence[BranchResult],
             rows: list[dict[str, Any]], report: FanOutReport) -> Outcome:
    updates = {
        "parallel.results": rows,
        "parallel.join_node": join,
        "parallel.success_count": sum(1 for r in results if succeeded(r)),
        "parallel.failure_count": sum(1 for r in results if failed(r)),
        "parallel.canceled_count": sum(1 for r in results if canceled(r)),
    }
    notes = f"parallel fan-out of {len(results)} branches, join={join}"
    return Outcome(verdict.status, context_updates=updates,
                   notes=f"{notes}; {verdict.notes}" if verdict.notes else notes,
                   failure_reason=verdict.reason, failure_class=verdict.failure_class,
                   failure_signature=verdict.failure_signature, fan_out=report,
                   resume_at=join)
