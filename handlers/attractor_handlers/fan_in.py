"""The fan-in handler (spec §4.9, ``shape=tripleoctagon``): pick the best branch.

Candidates are the branches that finished: neither ``fail`` nor
``canceled`` (a canceled or never-started branch never wins, W2). They
rank by status (success, partial_success, retry, anything else), then
higher score, then branch key, then index. The winner's context changes
(minus ``parallel.*`` keys, which belong to this fan-out) are applied, so
later stages see the winning branch's results. If no branch is a
candidate the node fails with every branch's reason, one aggregated
class and the signature ``parallel_all_failed|<class>|...``.

A fan-in with a ``prompt`` asks an LLM (the codergen backend the node
would use) to choose among the candidates; the answer names the key on a
``best: <key>`` line. The ranker only advises: an unusable answer, a
failed or canceled branch, or a backend error falls back to the heuristic
with a ``warning`` event, and never fails the stage.

The winner's work joins the fan-in's workdir through ``run.adopt_branch``
(with git isolation: its branch is merged); when that fails (a merge
conflict) the fan-in fails with class ``deterministic``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, cast

import cattrs

from attractor_core.sdk import (
    CONVERTER,
    BranchResult,
    CodergenBackend,
    Context,
    FailureClass,
    Graph,
    Node,
    Outcome,
    StageRun,
    StageStatus,
    Warning,
    write_text_atomic,
)
from attractor_handlers.codergen import available_backends, backend_name, build_prompt
from attractor_handlers.join_policies import all_failed

_RANK = {StageStatus.SUCCESS.value: 0, StageStatus.PARTIAL_SUCCESS.value: 1,
         StageStatus.RETRY.value: 2}
_NEVER_WIN = frozenset({StageStatus.FAIL.value, "canceled"})
_ANSWER_OK = frozenset({StageStatus.SUCCESS, StageStatus.PARTIAL_SUCCESS})
_BEST_LINE = re.compile(r"^[\s>*#`-]*best\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_KEY_PUNCTUATION = "`'\"*_.,;:!?()[]<> "
_SHOWN_CHARS = 2000  # per branch, so many or chatty branches keep the prompt bounded


class FanInError(ValueError):
    """``parallel.results`` is missing or unreadable."""


class RankerError(Exception):
    """The LLM ranker gave no usable choice; the message says why."""


class FanInHandler:
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False

    def __init__(self) -> None:
        # The plugin set is fixed for a run (one handler instance per run).
        self._backends: dict[str, CodergenBackend] | None = None

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
        ranking = "heuristic"
        if node.prompt:
            try:
                best = await self._llm_choice(node, context, graph, run, results)
                ranking = "llm"
            except RankerError as exc:
                run.emit(Warning(f"fan-in node {node.id}: {exc}; the heuristic (status, score, "
                                 f"key) chose {best.branch_key} instead", node.id))
        problem = await run.adopt_branch(best)
        if problem:  # the winner's work cannot join the main line (e.g. a merge conflict)
            return Outcome.fail(f"fan-in node {node.id}: {problem}",
                                FailureClass.DETERMINISTIC.value,
                                context_updates={"parallel.fan_in.best_id": best.branch_key})
        updates = _winner_updates(best, results)
        updates["parallel.fan_in.ranking"] = ranking
        return Outcome.success(
            notes=f"selected best candidate: {best.branch_key} ({best.status}) by {ranking}",
            context_updates=updates)

    async def _llm_choice(self, node: Node, context: Context, graph: Graph, run: StageRun,
                          results: Sequence[BranchResult]) -> BranchResult:
        prompt = ranking_prompt(node, graph, results)
        write_text_atomic(run.stage_dir / "prompt.md", prompt)
        answer = await self._ask(node, prompt, context, run)
        write_text_atomic(run.stage_dir / "response.md", answer)
        return choose(answer, results)

    async def _ask(self, node: Node, prompt: str, context: Context, run: StageRun) -> str:
        name = backend_name(node, run)
        if self._backends is None:
            self._backends = available_backends(run.plugin_hook())
        backend = self._backends.get(name)
        if backend is None:
            known = ", ".join(sorted(self._backends)) or "none installed"
            raise RankerError(f"unknown codergen backend {name!r} for the LLM ranking "
                              f"(available: {known})")
        try:
            result = await backend.run(node, prompt, context, cast(StageRun, _RankerRun(run)))
        except Exception as exc:  # a broken ranker must not fail the fan-in (spec §4.9 advisory)
            raise RankerError(f"the LLM ranking ({name}) raised {type(exc).__name__}: {exc}") \
                from exc
        finally:
            _set_aside_ranker_status(run)
        return _answer_text(name, result, run)


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
    # A custom outcome (a routing decision the branch took) ranks as a success.
    rank = _RANK.get(result.status, 0 if result.succeeded else 3)
    return (rank, -result.score, result.branch_key, result.index)


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


class _RankerRun:
    """The fan-in's stage run as its ranking backend sees it. A status the backend reports
    is about its own call, never the fan-in's verdict: with no ``report_status`` here the
    SDK's ``report_status`` writes it to the stage dir, as an agent would, and the fan-in
    sets that file aside."""

    report_status = None

    def __init__(self, run: StageRun) -> None:
        self._run = run

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


def _set_aside_ranker_status(run: StageRun) -> None:
    """A backend may write status.json for its own call; the fan-in's verdict is the
    handler's, so that file is kept as evidence under another name."""
    status = run.stage_dir / "status.json"
    if status.exists():
        status.replace(run.stage_dir / "ranker_status.json")


def _answer_text(name: str, result: str | Outcome, run: StageRun) -> str:
    if not isinstance(result, Outcome):
        return str(result)
    if result.status not in _ANSWER_OK:
        why = result.failure_reason or result.notes or "no reason given"
        raise RankerError(f"the LLM ranking ({name}) ended {result.status.value}: {why}")
    response = run.stage_dir / "response.md"
    if response.exists():
        return response.read_text(encoding="utf-8", errors="replace")
    return str(result.context_updates.get("last_response", ""))


def ranking_prompt(node: Node, graph: Graph, results: Sequence[BranchResult]) -> str:
    """The node's prompt, the finished branches, and how to answer."""
    candidates = [r for r in results if r.status not in _NEVER_WIN]
    keys = ", ".join(r.branch_key for r in candidates)
    parts = [build_prompt(node, graph).rstrip(), "",
             f"## Candidate branches ({len(candidates)} finished)", ""]
    parts += [_describe(r) for r in candidates]
    parts += [f"Choose exactly one of: {keys}. Answer with the chosen branch key on its own "
              "line, written as:", "", "best: <key>", ""]
    return "\n".join(parts)


def _describe(result: BranchResult) -> str:
    lines = [f"### {result.branch_key}", f"- status: {result.status}",
             f"- score: {result.score:g}"]
    if result.failure_reason:
        lines.append(f"- failure reason: {result.failure_reason}")
    changes = {k: v for k, v in result.context_updates.items() if not k.startswith("parallel.")}
    last = changes.pop("last_response", None)
    if last:
        lines.append(f"- last response: {str(last)[:_SHOWN_CHARS]}")
    if changes:
        shown = json.dumps(changes, sort_keys=True, default=str)[:_SHOWN_CHARS]
        lines.append(f"- context changes: {shown}")
    return "\n".join(lines) + "\n"


def choose(answer: str, results: Sequence[BranchResult]) -> BranchResult:
    """The branch the answer names: its last ``best:`` line, else the first candidate
    key mentioned. A failed or canceled branch is refused, never chosen."""
    by_key = {r.branch_key: r for r in results}
    picked = [m.strip(_KEY_PUNCTUATION) for m in _BEST_LINE.findall(answer)]
    named = by_key.get(picked[-1]) if picked else None
    if named is None:
        named = _first_named(answer, [r for r in results if r.status not in _NEVER_WIN])
    if named is None:
        raise RankerError("the LLM ranking named no candidate branch")
    if named.status in _NEVER_WIN:
        raise RankerError(f"the LLM ranking chose branch {named.branch_key}, which ended "
                          f"{named.status} and cannot win")
    return named


def _first_named(answer: str, candidates: Sequence[BranchResult]) -> BranchResult | None:
    found = []
    for result in candidates:
        match = re.search(rf"(?<![\w.-]){re.escape(result.branch_key)}(?![\w-])", answer)
        if match:
            found.append((match.start(), result.index, result))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None
