"""Validation of what a pipeline asks of the LLM layer, without sending anything.

``llm_model_known`` warns when a node's ``llm_model`` (or the graph's) is not
in the model catalog, with the closest known id; the model is still sent as
written, but it has no price and no context-window check. Nodes of a custom
provider (a local server) are not checked: their models are that server's.
The catalog is the shipped one, or ``$ATTRACTOR_MODEL_CATALOG`` over it (a
run config's ``[llm] catalog`` is not known when a file is validated alone).

``llm_budgets`` checks the budget attributes (graph ``max_cost_usd``,
``max_tokens`` or ``max_total_tokens``, ``max_llm_calls``; node ``max_cost_usd``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from attractor_core.sdk import Diagnostic, Graph, Node, Severity

if TYPE_CHECKING:
    pass

LLM_NODE_TYPES = ("codergen", "parallel.fan_in")
BUILTIN_PROVIDERS = ("", "openai", "anthropic", "gemini", "google")
# catalog.CATALOG_ENV, named here too so that a pipeline naming no model is checked
# without loading the catalog module (TOML parser, model classes) and its data.
CATALOG_ENV = "ATTRACTOR_MODEL_CATALOG"


class ModelKnownRule:
    name = "llm_model_known"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        named = _models_named(graph)
        user = os.environ.get(CATALOG_ENV, "")
        if not named and not user:
            return []  # nothing to look up, and the shipped catalog always loads
        from .catalog import load_catalog
        from .errors import ConfigurationError

        try:
            from pathlib import Path

            catalog = load_catalog(Path(user) if user else None)
        except ConfigurationError as exc:
            return [Diagnostic(self.name, Severity.WARNING, exc.message,
                               fix=f"fix the file ${CATALOG_ENV} names")]
        found: list[Diagnostic] = []
        for node, model in named:
            if catalog.get(model):
                continue
            guess = catalog.suggest(model)
            hint = f"; did you mean {guess!r}?" if guess else ""
            found.append(Diagnostic(
                self.name, Severity.WARNING,
                f"llm_model {model!r} is not in the model catalog{hint} It is sent as written, "
                "but its calls have no price and no context-window check",
                node_id=node.id, line=node.line,
                fix="check the id with 'attractor models', or describe the model in a "
                    "catalog file ([llm] catalog, docs/llm.md#the-model-catalog)"))
        return found


def _models_named(graph: Graph) -> list[tuple[Node, str]]:
    """The LLM nodes of a built-in provider with the model each names, in graph order."""
    named = []
    default = graph.attrs.get("llm_model", "")
    for node in graph.nodes.values():
        if node.handler_type not in LLM_NODE_TYPES:
            continue
        model = node.llm_model or default
        provider = node.llm_provider or graph.attrs.get("llm_provider", "")
        if model and provider in BUILTIN_PROVIDERS:
            named.append((node, model))
    return named


class BudgetAttributesRule:
    name = "llm_budgets"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        from .budgets import ALIASES, NODE_BUDGET, RUN_BUDGETS, BudgetSettingError, parse_limit

        found: list[Diagnostic] = []
        checks = [(name, graph.attrs.get(name, ""), "graph attribute", "", 0)
                  for key in RUN_BUDGETS for name in (key, *ALIASES.get(key, ()))]
        checks += [(NODE_BUDGET, n.attrs.get(NODE_BUDGET, ""), "node attribute", n.id, n.line)
                   for n in graph.nodes.values()]
        for key, value, source, node_id, line in checks:
            try:
                parse_limit(key, value, source)
            except BudgetSettingError as exc:
                found.append(Diagnostic(self.name, Severity.ERROR, str(exc), node_id=node_id,
                                        line=line, fix="see docs/llm.md#budgets"))
        return found
