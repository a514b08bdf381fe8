"""What LLM calls cost: one record per call, totals per stage, model, provider and run.

A call's usage comes from the provider's response (the ``api`` backend and
the agent loop) or from a CLI agent's JSON stream (the ``cli`` backend).
Usage the provider did not report is *unknown*, never 0: the call is
counted in ``unknown_calls`` and its size is estimated from the characters
sent and received (``estimated_tokens``, about 4 characters a token), which
only a token budget reads. A cost is the agent's own figure when it
reports one, else the catalog's prices; a model without prices has no cost
(``unpriced_calls``), and spend is then shown as tokens only.

Token counts are normalised across protocols (``StageSpend.record_usage``):
``input_tokens`` is every prompt token, cached or not (Anthropic reports cache
reads and writes apart from ``input_tokens``; they are added), and
``output_tokens`` includes the reasoning tokens (Gemini reports
``thoughtsTokenCount`` apart; it is added).

The run's totals live in the run-wide plugin state under :data:`STATE_KEY`
(saved in checkpoint.json and final.json, so a resume keeps counting)::

    {"total": T, "by_stage": {node: T}, "by_model": {"provider/model": T},
     "by_provider": {provider: T}, "status_line": "spent $0.42: ...", "warned": [...]}

where each ``T`` has the keys of :data:`TOTAL_KEYS`. A sub-pipeline, and a
unit run by a remote executor, keep their own; :func:`merge_state` adds one
to its run's when it ends, and until then the run-wide figures that budgets
check are a run's own total plus the rest of the run tree's
(``StageRun.enclosing_plugin_states``: enclosing runs, running sub-pipelines;
:func:`combined`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple

from .budgets import tokens_of
from .catalog import Catalog, ModelInfo

STATE_KEY = "llm_usage"
CHARS_PER_TOKEN = 4
NANO = 1e9  # costs are added up in whole billionths of a dollar
# A model's prices per million tokens: input, output, cache read, cache write.
Prices = tuple[float, float, float, float]
TOKEN_KEYS = ("input_tokens", "output_tokens", "reasoning_tokens", "cache_read_tokens",
              "cache_write_tokens")
TOTAL_KEYS = ("calls", "unknown_calls", *TOKEN_KEYS, "estimated_tokens", "cost_usd",
              "unpriced_calls")


class CallUsage(NamedTuple):
    """One LLM call. Token fields are None when the provider did not report them.

    A named tuple, not an attrs class: one is built on every LLM call, and the frozen
    attrs constructor cost four times as much."""

    provider: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    cost_source: str = ""  # "catalog", "agent", or "" when the cost is unknown
    estimated_tokens: int = 0  # only for unknown usage: from the characters sent and received
    error: str = ""  # the call failed (its usage is then unknown)

    @property
    def known(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    def to_json(self) -> dict[str, Any]:
        return dict(self._asdict())


def estimate_tokens(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def priced(call: CallUsage, catalog: Catalog | Callable[[str], ModelInfo | None]) -> CallUsage:
    """``call`` with its cost from the catalog (or a model lookup), unless it has one (an
    agent's) already."""
    if call.cost_usd is not None or not call.known:
        return call
    info = catalog.get(call.model) if isinstance(catalog, Catalog) else catalog(call.model)
    cost = cost_of(call, info) if info is not None else None
    if cost is None:
        return call
    return call._replace(cost_usd=cost, cost_source="catalog")


def prices_of(info: ModelInfo | None) -> Prices | None:
    """The model's prices per million tokens as :func:`nano_cost` reads them (input,
    output, cache read, cache write), or None without input and output prices; cache
    tokens without a cache price are charged at the input price (what the provider would
    charge without the cache)."""
    if info is None or info.input is None or info.output is None:
        return None
    return (info.input, info.output,
            info.input if info.cache_read is None else info.cache_read,
            info.input if info.cache_write is None else info.cache_write)


def nano_cost(prices: Prices, inp: int, out: int, read: int, write: int) -> int:
    """The cost of these tokens in billionths of a dollar (whole: sums stay exact)."""
    fresh = inp - read - write
    if fresh < 0:
        fresh = 0
    return int((fresh * prices[0] + out * prices[1] + read * prices[2] + write * prices[3])
               * 1000 + 0.5)


def cost_of(call: CallUsage, info: ModelInfo) -> float | None:
    """USD for the call at the model's prices."""
    prices = prices_of(info)
    if prices is None:
        return None
    return nano_cost(prices, call.input_tokens or 0, call.output_tokens or 0,
                     call.cache_read_tokens or 0, call.cache_write_tokens or 0) / NANO


def empty_totals() -> dict[str, Any]:
    totals: dict[str, Any] = dict.fromkeys(TOTAL_KEYS, 0)
    totals["cost_usd"] = 0.0
    return totals


def add_known(into: Sequence[MutableMapping[str, Any]], inp: int, out: int,
              reasoning: int | None, read: int | None, write: int | None,
              nano: int | None) -> None:
    """Add a call with reported usage to each totals object of ``into``; ``nano`` is its
    cost in billionths of a dollar (None: unknown)."""
    for totals in into:
        totals["calls"] += 1
        totals["input_tokens"] += inp
        totals["output_tokens"] += out
        if reasoning:
            totals["reasoning_tokens"] += reasoning
        if read:
            totals["cache_read_tokens"] += read
        if write:
            totals["cache_write_tokens"] += write
        if nano is None:
            totals["unpriced_calls"] += 1
        else:  # whole billionths, so that the dollars stay exact at 9 decimals
            totals["cost_usd"] = (int(totals["cost_usd"] * NANO + 0.5) + nano) / NANO


def add_call(totals: MutableMapping[str, Any], call: CallUsage) -> None:
    nano = None if call.cost_usd is None else int(call.cost_usd * NANO + 0.5)
    if not call.known:  # its call and cost below, with no tokens reported
        totals["unknown_calls"] += 1
        totals["estimated_tokens"] += call.estimated_tokens
    add_known((totals,), call.input_tokens or 0, call.output_tokens or 0,
              call.reasoning_tokens, call.cache_read_tokens, call.cache_write_tokens, nano)


def add_totals(into: MutableMapping[str, Any], other: Mapping[str, Any]) -> None:
    for key in TOTAL_KEYS:
        into[key] = into.get(key, 0) + other.get(key, 0)
    into["cost_usd"] = round(into["cost_usd"], 9)


def combined(totals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several totals objects."""
    out = empty_totals()
    for one in totals:
        add_totals(out, one)
    return out


def merge_state(into: MutableMapping[str, Any], other: Mapping[str, Any]) -> None:
    """Add another run's accounts (a sub-run's :data:`STATE_KEY` state) to ``into``: its
    total, and its stages, models and providers into the groups of the same names."""
    add_totals(into.setdefault("total", empty_totals()), other.get("total") or {})
    for key in ("by_stage", "by_model", "by_provider"):
        group = into.setdefault(key, {})
        for name, totals in (other.get(key) or {}).items():
            add_totals(group.setdefault(name, empty_totals()), totals)
    warned = into.setdefault("warned", [])
    warned.extend(w for w in other.get("warned") or () if w not in warned)
    into["status_line"] = status_line(into)


class Ledger:
    """The run's totals (in the run-wide plugin state) and one stage attempt's calls.

    A call is added at once to what the budgets read (the node's and the run's totals); to
    the attempt's totals, ``by_model`` and ``by_provider``, which only the artifacts read,
    when the attempt reports (:meth:`fold`, before usage.json and the checkpoint after the
    stage). Each call costs as little as can be: it runs once per LLM call between
    megabytes of other work, so everything it touches is cold in the CPU caches."""

    __slots__ = ("_calls", "_folded", "_totals", "append_call", "node_id", "stage", "state")

    def __init__(self, state: MutableMapping[str, Any], node_id: str):
        self.state = state
        self.node_id = node_id
        for key in ("by_stage", "by_model", "by_provider"):
            state.setdefault(key, {})
        state.setdefault("total", empty_totals())
        # The attempt's calls: CallUsage, or plain tuples of its fields.
        self._calls: list[tuple[Any, ...]] = []
        # Adds a call, as a plain tuple of CallUsage's fields, to the attempt's calls, for
        # a caller that adds it to open_totals() itself (add_known): no Python frame, no
        # CallUsage built (StageSpend.record_usage, once each LLM call).
        self.append_call = self._calls.append
        self.stage = empty_totals()  # this attempt's calls (from the last fold)
        self._folded = 0  # calls already in by_model and by_provider
        self._totals: tuple[dict[str, Any], dict[str, Any]] | None = None  # open_totals()

    @property
    def calls(self) -> list[CallUsage]:
        return [CallUsage._make(call) for call in self._calls]

    @property
    def count(self) -> int:
        return len(self._calls)

    @property
    def last_call(self) -> CallUsage:
        return CallUsage._make(self._calls[-1])

    def record(self, call: CallUsage) -> None:
        self._calls.append(call)
        for totals in self._totals or self.open_totals():
            add_call(totals, call)

    def open_totals(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The run's and the node's totals, which each call adds to (the node's made on
        its first call)."""
        by_stage: dict[str, Any] = self.state["by_stage"]
        node = by_stage.get(self.node_id)
        if node is None:
            node = by_stage[self.node_id] = empty_totals()
        self._totals = (self.state["total"], node)
        return self._totals

    def fold(self) -> None:
        """The attempt's totals, and the calls recorded since the last fold added to
        ``by_model`` and ``by_provider``."""
        state = self.state
        calls = self.calls
        self.stage = empty_totals()
        for call in calls:
            add_call(self.stage, call)
        for call in calls[self._folded:]:
            for key, name in (("by_provider", call.provider),
                              ("by_model", f"{call.provider}/{call.model}")):
                group = state[key]
                totals = group.get(name)
                if totals is None:
                    totals = group[name] = empty_totals()
                add_call(totals, call)
        self._folded = len(calls)

    @property
    def run_total(self) -> dict[str, Any]:
        total: dict[str, Any] = self.state["total"]
        return total

    @property
    def node_total(self) -> dict[str, Any]:
        by_stage: dict[str, Any] = self.state["by_stage"]
        return by_stage.get(self.node_id) or empty_totals()

    def usage_record(self, attempt: int) -> dict[str, Any]:
        """``usage.json`` of the stage attempt."""
        return {"node_id": self.node_id, "attempt": attempt, "totals": dict(self.stage),
                "node_totals": dict(self.node_total), "run_totals": dict(self.run_total),
                "calls": [c.to_json() for c in self.calls]}

    def refresh_status_line(self) -> None:
        self.state["status_line"] = status_line(self.state)


def status_line(state: Mapping[str, Any]) -> str:
    """``spent $4.12: 1.3M in / 210k out tokens; most in `implement` (68%)``."""
    total = state.get("total") or empty_totals()
    if not total["calls"]:
        return ""
    tokens = f"{_count(total['input_tokens'])} in / {_count(total['output_tokens'])} out tokens"
    unknown = total["unknown_calls"]
    calls = f"{total['calls']} LLM call{'s' * (total['calls'] != 1)}"
    if total["unpriced_calls"] == total["calls"]:
        head = f"used {tokens} in {calls} (no prices known)"
    else:
        head = f"spent ${total['cost_usd']:.2f}: {tokens} in {calls}"
        if total["unpriced_calls"]:
            head += f" ({total['unpriced_calls']} without a price, not counted in $)"
    if unknown:
        head += (f"; {unknown} call{'s' * (unknown != 1)} reported no usage "
                 f"(~{_count(total['estimated_tokens'])} tokens estimated)")
    return head + _top_stage(state.get("by_stage") or {}, total)


def _top_stage(by_stage: Mapping[str, Mapping[str, Any]], total: Mapping[str, Any]) -> str:
    if len(by_stage) < 2:
        return ""
    use_cost = total["cost_usd"] > 0
    measure = (lambda t: t["cost_usd"]) if use_cost else tokens_of
    whole = measure(total)
    if not whole:
        return ""
    node, top = max(by_stage.items(), key=lambda item: measure(item[1]))
    return f"; most in `{node}` ({round(100 * measure(top) / whole)}%)"


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n // 1000}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)
