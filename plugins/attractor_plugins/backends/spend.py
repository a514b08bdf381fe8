"""Accounting and budgets for one stage attempt of the ``api`` or ``cli`` backend.

``StageSpend.open(node, context, run)`` reads the run's catalog and budgets;
the backend awaits ``before_call()`` before each LLM call (an agent CLI run
is one call) unless ``quiet()``, and ``after_call(call)`` after it (or, for a
provider's reported usage, ``record_usage`` and, unless that says the budgets
are quiet, ``check_budgets()``), and calls ``close()`` when the stage ends,
however it ends: that writes ``usage.json`` in the stage dir and emits
``llm_usage`` when the stage made a call.

A run budget that is reached stops the run through ``run.stop_run`` with
exit path ``budget_exceeded`` (resumable: ``attractor resume
--max-cost-usd N`` continues with a raised budget); a node budget fails the
stage with class ``budget_exhausted``, which is not retried. Each budget
gives one ``llm_budget_warning`` when 80% of it is spent.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import trio
from attrs import frozen

from attractor_core.sdk import Context, Event, Node, StageRun, write_json_atomic
from attractor_plugins.llm.accounting import (
    NANO,
    STATE_KEY,
    CallUsage,
    Ledger,
    Prices,
    add_known,
    combined,
    estimate_tokens,
    nano_cost,
    priced,
    prices_of,
)
from attractor_plugins.llm.budgets import (
    ALIASES,
    COUNTS,
    RUN_BUDGETS,
    WARN_AT,
    Budgets,
    Limit,
    resolve,
    tokens_of,
)
from attractor_plugins.llm.catalog import Catalog, catalog_for_run
from attractor_plugins.llm.config import LlmConfig

EXIT_PATH = "budget_exceeded"


@frozen
class LlmUsage(Event):
    """What one stage attempt's LLM calls used (sent when the attempt ends, if it called)."""

    name: ClassVar[str] = "llm_usage"
    node_id: str
    calls: int
    unknown_calls: int  # calls whose provider reported no usage
    unpriced_calls: int  # calls without a known cost (not in cost_usd)
    input_tokens: int
    output_tokens: int
    cost_usd: float  # the calls with a known cost
    run_cost_usd: float  # the run's spend so far (priced calls)
    run_tokens: int  # the run's input + output tokens so far (with estimates)


@frozen
class LlmBudgetWarning(Event):
    """80% of a budget is spent, or a budget cannot see all of the spend."""

    name: ClassVar[str] = "llm_budget_warning"
    budget: str  # max_cost_usd | max_tokens | max_llm_calls
    scope: str  # run | node
    node_id: str
    limit: float
    spent: float
    message: str


class BudgetExhausted(Exception):
    """The stage must end (its node budget, or a run budget that stopped the run)."""


class StageSpend:
    """One stage attempt's accounts and budget checks.

    ``quiet`` and ``record_usage`` run once per LLM call between megabytes of other
    work, so everything they touch is cold in the CPU caches (on the virtual machines
    measured, about a µs per cold function, coroutine or object): they are plain
    functions doing the least that the budgets need, with every lookup they can make once
    per stage made at its start or on first use (prices, protocols, the spend below which
    every budget is quiet). The checks that read every budget run only near a budget, and
    everything only the artifacts read is done when the attempt reports (``close``)."""

    __slots__ = ("_append_call", "_blind", "_by_stage", "_checks", "_how", "_quiet", "_quiet_at",
                 "_reported", "_run_checks", "_run_totals", "_totals", "budgets", "catalog",
                 "checked", "ledger", "node", "protocol_of", "run")

    def __init__(self, node: Node, run: StageRun, catalog: Catalog, budgets: Budgets,
                 protocol_of: Callable[[str], str] = lambda provider: ""):
        self.node = node
        self.run = run
        self.catalog = catalog
        self.budgets = budgets
        self.protocol_of = protocol_of
        self.ledger = ledger = Ledger(run.plugin_state(STATE_KEY), node.id)
        # The run's totals: a dict that merges change in place, never replace.
        self._run_totals = ledger.run_total
        self._append_call = ledger.append_call
        self._totals: tuple[dict[str, Any], dict[str, Any]] | None = None  # open_totals()
        self._by_stage: dict[str, Any] = ledger.state["by_stage"]
        # The last call's provider and model, its protocol and the model's prices.
        self._how: tuple[str, str, str, Prices | None] = ("", "", "", None)
        # Each budget as its checks read it (run budgets first), see _check.
        self._checks = [_check(True, limit) for limit in budgets.run] + (
            [_check(False, budgets.node)] if budgets.node is not None else [])
        self._run_checks = bool(budgets.run)
        self.checked = bool(self._checks)  # any budget (without, ``quiet`` is always true)
        # Below these every budget is short of its warning point and of the spend at
        # which no call may start: run cost, run tokens, run calls, node cost.
        self._quiet = _quiet_below(self._checks)
        # The run's call count when a check last found every budget quiet (-1: none did
        # yet). Every call recorded in the run changes it, so while it stands and no
        # sub-run spends alongside, the next call needs no check.
        self._quiet_at = -1
        self._blind = False  # the last call's spend is not all known (no usage, or no cost)
        self._reported = 0  # calls already in usage.json and an llm_usage event

    @classmethod
    def open(cls, node: Node, context: Context, run: StageRun,
             protocol_of: Callable[[str], str] = lambda provider: "") -> StageSpend:
        """Raises ``ConfigurationError`` (a bad catalog file) or ``BudgetSettingError``."""
        return cls(node, run, run_catalog(run), run_budgets(node, context, run), protocol_of)

    @property
    def run_total(self) -> dict[str, Any]:
        """The run's spend so far: this run's, plus what the rest of the run tree has spent
        and not yet merged into it (read now, as the tree changes while the stage runs):
        the enclosing runs' if it is a sub-run (a sub-pipeline's parent, live; a remote
        unit's run, as it was at dispatch), and the sub-pipelines running alongside."""
        others = self.run.enclosing_plugin_states(STATE_KEY)
        if not others:
            return self._run_totals
        return combined([self._run_totals,
                         *(state["total"] for state in others if "total" in state)])

    def quiet(self) -> bool:
        """Whether the next call may start unchecked: a check found every budget short
        of its warning point and of its stop since the last call recorded in the run, and
        no sub-run spends alongside. Otherwise await ``before_call``."""
        return not self.checked or (self._quiet_at == self._run_totals["calls"]
                                    and not self.run.enclosing_plugin_states(STATE_KEY))

    async def before_call(self) -> None:
        """Stops the run (a run budget reached) or raises ``BudgetExhausted`` (the node's)
        when the call must not be made."""
        run_total = self.run_total if self._run_checks else None
        node_total = self._by_stage.get(self.node.id)
        for is_run, limit, keys, _, _, stop_above in self._checks:
            totals = run_total if is_run else node_total
            if totals is None:  # the node has not spent yet
                continue
            spent = _spent(totals, keys)
            if spent > stop_above:
                if is_run:
                    await self._stop_run(limit, spent, "before another call")
                raise BudgetExhausted(self._node_reason(limit, spent))

    def record_usage(self, provider: str, model: str, usage: Any) -> bool:
        """Record the unified ``Usage`` of a call whose provider reported it (``usage.raw``
        set): normalised, priced and recorded without building a record. Returns whether
        the budgets stay quiet (see ``quiet``); if not, await ``check_budgets``."""
        how = self._how
        if how[0] != provider or how[1] != model:
            how = self._how = (provider, model, self.protocol_of(provider),
                               prices_of(self.catalog.get(model)))
        # Token counts alike for every protocol: every prompt token in input_tokens (cache
        # reads and writes are apart in Anthropic's), reasoning in output_tokens (apart in
        # Gemini's).
        inp, out, reasoning = usage.input_tokens, usage.output_tokens, usage.reasoning_tokens
        read, write = usage.cache_read_tokens, usage.cache_write_tokens
        if how[2] == "anthropic":
            inp += (read or 0) + (write or 0)
        elif how[2] == "gemini":
            out += reasoning or 0
        prices = how[3]
        if prices is None:
            nano = cost = None
        else:
            nano = nano_cost(prices, inp, out, read or 0, write or 0)
            cost = nano / NANO
        # CallUsage's fields, made a CallUsage only when the attempt reports.
        self._append_call((provider, model, inp, out, reasoning, read, write, cost,
                           "" if nano is None else "catalog", 0, ""))
        totals = self._totals
        if totals is None:
            totals = self._totals = self.ledger.open_totals()
        add_known(totals, inp, out, reasoning, read, write, nano)
        if not self.checked:
            return True
        run, node = totals
        below_cost, below_tokens, below_calls, below_node_cost = self._quiet
        if (nano is not None and run["cost_usd"] < below_cost and run["calls"] < below_calls
                and run["input_tokens"] + run["output_tokens"] + run["estimated_tokens"]
                < below_tokens
                and node["cost_usd"] < below_node_cost
                and not self.run.enclosing_plugin_states(STATE_KEY)):
            self._quiet_at = run["calls"]
            return True
        self._quiet_at = -1
        self._blind = nano is None
        return False

    async def check_budgets(self) -> None:
        """After a call recorded: warnings, and a crossed budget stops the run (or raises
        ``BudgetExhausted``, the node's)."""
        if (crossed := self._crossed(self._blind)) is not None:
            await self._stop_run(*crossed, "after a call")

    async def after_call(self, call: CallUsage) -> None:
        if call.cost_usd is None:
            call = priced(call, self.catalog)
        self.ledger.record(call)
        self._blind = not (call.known and call.cost_usd is not None)
        self._quiet_at = -1
        if self.checked:
            await self.check_budgets()

    def _crossed(self, blind: bool) -> tuple[Limit, float] | None:
        """The budgets after the last call recorded: the run budget crossed and its spend,
        if one is; raises ``BudgetExhausted`` for a node budget crossed. ``blind``: a
        budget may not see all of the call's spend (no usage, or no cost)."""
        run_total = self.run_total if self._run_checks else None
        node_total = self._by_stage[self.node.id]  # the call just recorded made it
        for is_run, limit, keys, value, warn_at, _ in self._checks:
            spent = _spent(run_total if is_run else node_total, keys)  # type: ignore[arg-type]
            if blind or spent >= warn_at:
                self._warn("run" if is_run else "node", limit, spent, self.ledger.last_call)
            if spent <= value:
                continue
            if is_run:
                return limit, spent
            raise BudgetExhausted(self._node_reason(limit, spent))
        return None

    def record(self, call: CallUsage) -> None:
        """Count a call without checking the budgets (a call that failed or was cancelled)."""
        self.ledger.record(priced(call, self.catalog))

    def close(self) -> None:
        """usage.json and ``llm_usage`` for an attempt that made calls."""
        ledger = self.ledger
        if ledger.count == self._reported:
            return
        self._reported = ledger.count
        ledger.fold()
        ledger.refresh_status_line()
        write_json_atomic(self.run.stage_dir / "usage.json",
                          ledger.usage_record(self.run.attempt))
        stage, total = ledger.stage, self.run_total
        self.run.emit(LlmUsage(
            self.node.id, stage["calls"], stage["unknown_calls"], stage["unpriced_calls"],
            stage["input_tokens"], stage["output_tokens"], stage["cost_usd"], total["cost_usd"],
            tokens_of(total)))

    async def _stop_run(self, limit: Limit, spent: float, when: str) -> None:
        reason = (f"budget {limit.key} exceeded ({limit.source}): spent "
                  f"{limit.describe(spent)}{self._estimated(limit)}, {when} in node "
                  f"{self.node.id}{self._most_in()}; continue with a higher budget: attractor "
                  f"resume --logs-root {self.run.logs_root} --{limit.key.replace('_', '-')} N")
        self.close()
        self.run.stop_run(EXIT_PATH, reason, failure_class="budget_exhausted", resumable=True)
        await trio.lowlevel.checkpoint()  # the run's cancellation lands here
        raise BudgetExhausted(reason)  # only reached when nothing cancelled the stage

    def _node_reason(self, limit: Limit, spent: float) -> str:
        return (f"node {self.node.id}: node budget max_cost_usd exhausted: spent "
                f"{limit.describe(spent)} across its attempts and visits")

    def _estimated(self, limit: Limit) -> str:
        total = self.run_total
        if limit.key == "max_tokens" and total["unknown_calls"]:
            return (f" (including ~{total['estimated_tokens']} tokens estimated from the text "
                    f"of {total['unknown_calls']} call(s) whose provider reported no usage)")
        return ""

    def _most_in(self) -> str:
        by_stage = self.ledger.state.get("by_stage") or {}
        if len(by_stage) < 2:
            return ""
        node = max(by_stage, key=lambda n: (by_stage[n]["cost_usd"], tokens_of(by_stage[n])))
        return f" (most in {node})"

    def _warn(self, scope: str, limit: Limit, spent: float, call: CallUsage) -> None:
        """The 80% warning and the blind-spot warning of one budget, each once a run."""
        warned: list[str] = self.ledger.state.setdefault("warned", [])
        key = f"{scope}:{self.node.id if scope == 'node' else ''}:{limit.key}"
        if spent >= WARN_AT * limit.value and key not in warned:
            warned.append(key)
            self.run.emit(LlmBudgetWarning(
                limit.key, scope, self.node.id, limit.value, spent,
                f"{scope} budget {limit.key}: {limit.describe(spent)} spent (80% reached)"
                f"{self._estimated(limit)}"))
        blind = self._blind_spot(limit, call)
        if blind and f"blind:{key}" not in warned:
            warned.append(f"blind:{key}")
            self.run.emit(LlmBudgetWarning(limit.key, scope, self.node.id, limit.value, spent,
                                           blind))

    def _blind_spot(self, limit: Limit, call: CallUsage) -> str:
        """Why ``limit`` cannot see all of ``call``'s spend, if it cannot."""
        if limit.key == "max_cost_usd" and call.cost_usd is None:
            return (f"{limit.key} cannot count a call to {call.provider}/{call.model}: its "
                    "cost is unknown (no usage reported, or no price in the model catalog); "
                    "add the model's prices to a catalog file ([llm] catalog)")
        if limit.key == "max_tokens" and not call.known:
            return (f"{limit.key}: {call.provider}/{call.model} reported no usage; its tokens "
                    "are estimated from the characters sent and received")
        return ""


def _quiet_below(checks: list[tuple[bool, Limit, tuple[str, ...], float, float, float]]
                 ) -> tuple[float, float, float, float]:
    """Run cost, run tokens, run calls and node cost below which every budget of ``checks``
    (see :func:`_check`) is short of its warning point and of its ``stop_above``; inf: no
    budget."""
    below = dict.fromkeys((*RUN_BUDGETS, "node"), math.inf)
    for is_run, limit, _, _, warn_at, stop_above in checks:
        below[limit.key if is_run else "node"] = min(warn_at, stop_above)
    return below["max_cost_usd"], below["max_tokens"], below["max_llm_calls"], below["node"]


def _spent(totals: Mapping[str, Any], keys: tuple[str, ...]) -> float:
    """What a budget counting ``keys`` has spent of ``totals``."""
    spent = 0.0
    for key in keys:
        spent += totals[key]
    return spent


def _check(is_run: bool, limit: Limit
           ) -> tuple[bool, Limit, tuple[str, ...], float, float, float]:
    """A budget as its checks read it: a run budget or the node's, the limit, the keys of
    a totals object it adds up, its value, its warning point, and the spend above which
    no call may start (the budget reached, or for a call budget, one more call would
    cross it)."""
    value = limit.value
    stop_above = value - 1 if limit.key == "max_llm_calls" else math.nextafter(value, -math.inf)
    return is_run, limit, COUNTS[limit.key], value, WARN_AT * value, stop_above


def prompt_fit_problem(node: Node, model: str, catalog: Catalog) -> str:
    """Why the node's prompt cannot fit the model's context window, or ``""``.

    The estimate is the prompt as written (about 4 characters a token); what a stage adds
    at run time (the run-context preamble, a thread's history) only makes it longer.
    """
    info = catalog.get(model) if model else None
    window = info.context_window if info is not None else None
    if window is None:
        return ""
    tokens = estimate_tokens(len(node.prompt or node.label))
    if tokens <= window:
        return ""
    return (f"its prompt is about {tokens} tokens (4 characters a token), more than the "
            f"{window}-token context window of {info.id if info else model} (model catalog); "
            "shorten the prompt, or choose a model with a larger window")


def run_catalog(run: Any) -> Catalog:
    """The run's model catalog (shipped, or overridden by ``[llm] catalog`` / the env)."""
    option = run.option("llm")
    table = option.table if isinstance(option, LlmConfig) else option
    return catalog_for_run(table if isinstance(table, Mapping) else None,
                           run.option("config_file"), run.environment())


def run_budgets(node: Node, context: Context | None, run: Any) -> Budgets:
    """Raises ``BudgetSettingError`` naming the key and where it was set."""
    names = [*RUN_BUDGETS, *(alias for aliases in ALIASES.values() for alias in aliases)]
    options = {key: run.option(key) or "" for key in names}
    graph = ({key: context.get_string(f"graph.{key}") for key in names}
             if context is not None else {})
    return resolve(options, config_run_table(run.option("config_file")), graph, node.attrs)


def config_run_table(config_file: Any) -> Mapping[str, Any]:
    """The ``[run]`` table of the run's config file (empty without one)."""
    if not isinstance(config_file, str) or not config_file:
        return {}
    path = Path(config_file)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return _run_table(path, mtime)


@functools.lru_cache(maxsize=4)
def _run_table(path: Path, mtime: float) -> Mapping[str, Any]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("run", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # the kernel reports an unreadable config file before the run starts
    return table if isinstance(table, dict) else {}
