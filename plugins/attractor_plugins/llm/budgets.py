"""Spend limits: run budgets (cost, tokens, calls) and a node's cost budget.

Run budgets are ``max_cost_usd``, ``max_tokens`` and ``max_llm_calls``, each
from, first found: the run option (``--max-cost-usd``...), the config file's
``[run]`` table, the graph attribute. ``max_total_tokens`` is another name of
``max_tokens`` at each of these levels (``max_tokens`` wins when both are
set). A node's own ``max_cost_usd`` caps what that node spends across its
retries and visits; a node's ``max_tokens`` is not a budget but the output
limit of each of its calls (``backends.call_controls``).

A budget is *reached* when the spend equals it and *crossed* when the spend
exceeds it. Before a call, a reached cost or token budget (or a call budget
that the call would cross) stops the run; after a call, a crossed one does.
``max_tokens`` counts input plus output tokens, and estimates the calls
whose usage is unknown; ``max_cost_usd`` counts the calls with a known cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attractor_core.sdk import Record

RUN_BUDGETS = ("max_cost_usd", "max_tokens", "max_llm_calls")
# Other names of a run budget, read after its own name at each level.
ALIASES: Mapping[str, tuple[str, ...]] = {"max_tokens": ("max_total_tokens",)}
NODE_BUDGET = "max_cost_usd"
WARN_AT = 0.8


class BudgetSettingError(ValueError):
    """A budget value cannot be understood; the message names the key and where it was set."""


class Limit(Record):
    __match_args__ = __slots__ = ("key", "value", "source")
    key: str
    value: float
    source: str  # "command line", "config file [run]", "graph attribute", "node attribute"

    def __init__(self, key: str, value: float, source: str) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "source", source)

    def describe(self, spent: float) -> str:
        if self.key == "max_cost_usd":
            return f"${spent:.4f} of ${self.value:g}"
        unit = "tokens" if self.key == "max_tokens" else "LLM calls"
        return f"{int(spent)} of {int(self.value)} {unit}"


def tokens_of(totals: Mapping[str, Any]) -> int:
    """Input plus output tokens, with the estimate for calls whose usage is unknown."""
    return int(totals["input_tokens"] + totals["output_tokens"] + totals["estimated_tokens"])


# What each budget adds up in a totals object (``accounting.TOTAL_KEYS``).
COUNTS: Mapping[str, tuple[str, ...]] = {
    "max_cost_usd": ("cost_usd",),
    "max_tokens": ("input_tokens", "output_tokens", "estimated_tokens"),
    "max_llm_calls": ("calls",),
}


class Budgets(Record):
    __match_args__ = __slots__ = ("run", "node")
    run: tuple[Limit, ...]
    node: Limit | None

    def __init__(self, run: tuple[Limit, ...] = (), node: Limit | None = None) -> None:
        object.__setattr__(self, "run", run)
        object.__setattr__(self, "node", node)

    @property
    def any(self) -> bool:
        return bool(self.run) or self.node is not None


def parse_limit(key: str, raw: Any, source: str) -> Limit | None:
    """None for an empty value; raises BudgetSettingError for a bad one."""
    text = str(raw).strip()
    if not text:
        return None
    try:
        value = float(text) if key == "max_cost_usd" else int(text)
    except ValueError:
        kind = "a number of US dollars" if key == "max_cost_usd" else "a whole number"
        raise BudgetSettingError(f"{key} = {text!r} ({source}) must be {kind}") from None
    if not math.isfinite(value) or value <= 0:
        raise BudgetSettingError(f"{key} = {text!r} ({source}) must be greater than 0")
    return Limit(key, float(value), source)


def resolve(options: Mapping[str, Any], run_table: Mapping[str, Any],
            graph: Mapping[str, Any], node: Mapping[str, Any]) -> Budgets:
    """The budgets in force for one node; raises BudgetSettingError."""
    limits = []
    for key in RUN_BUDGETS:
        for source, values in (("command line", options), ("config file [run]", run_table),
                               ("graph attribute", graph)):
            limit = _first_limit(key, values, source)
            if limit is not None:
                limits.append(limit)
                break
    return Budgets(tuple(limits), parse_limit(NODE_BUDGET, node.get(NODE_BUDGET, ""),
                                              "node attribute"))


def _first_limit(key: str, values: Mapping[str, Any], source: str) -> Limit | None:
    """The budget ``key`` as set in ``values`` under its own name or an alias."""
    for name in (key, *ALIASES.get(key, ())):
        limit = parse_limit(name, values.get(name, ""), source)
        if limit is not None:
            return Limit(key, limit.value, source)
    return None
