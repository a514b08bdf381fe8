"""Entry point of the ``attractor-plugins`` distribution (group ``attractor``).

Each hook imports what it needs when first called, so loading the entry point
(``attractor validate`` does) costs nothing beyond pluggy.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

hookimpl = pluggy.HookimplMarker("attractor")


@hookimpl
def attractor_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """``attractor_failover_policy``: the hook the LLM layer asks for its failover policy."""
    from attractor_plugins import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def attractor_event_sinks(logs_root: Path, run_id: str) -> Sequence[Any]:
    from attractor_plugins.sinks.progress_ndjson import ProgressNdjsonSink

    return [ProgressNdjsonSink(logs_root)]


@hookimpl
def attractor_status_sources() -> Sequence[Any]:
    from attractor_plugins.status_sources import BUILTIN_SOURCES

    return list(BUILTIN_SOURCES)


@hookimpl(trylast=True)
def attractor_classify_failure(reason: str, node: Any, outcome: Any,
                               error: BaseException | None) -> str | None:
    """The built-in heuristics answer last, after any other classifier plugin."""
    from attractor_plugins.classifiers import classify_reason

    return classify_reason(reason)


@hookimpl(optionalhook=True)
def attractor_codergen_backends() -> Mapping[str, Any]:
    """``api`` (unified LLM client, one-shot or agent loop) and ``cli`` (claude/codex/gemini).

    The hook is declared by ``attractor-handlers`` (the codergen handler calls it); optional,
    so that this distribution still loads where that one is not registered."""
    # Each backend's module is imported when a stage first uses it: runs on another backend
    # (simulate) do not pay for httpx, jsonschema and the LLM client.
    from attractor_plugins.backends.deferred import DeferredBackend

    return {"api": DeferredBackend("attractor_plugins.backends.api:ApiBackend"),
            "cli": DeferredBackend("attractor_plugins.backends.cli_backend:CliBackend")}


@hookimpl(specname="attractor_classify_failure")
def classify_llm_failure(reason: str, node: Any, outcome: Any,
                         error: BaseException | None) -> str | None:
    """Failures carrying a unified LLM error (``details["llm_error"]``), ahead of the heuristics."""
    from attractor_plugins.llm.taxonomy import classify_outcome

    return classify_outcome(outcome, error)


@hookimpl
def attractor_failover_policy(name: str, config: Mapping[str, Any]) -> Any | None:
    """The built-in policies ``none``, ``ordered`` and ``pinned`` (docs/llm.md)."""
    from attractor_plugins.llm.failover import builtin_policy

    return builtin_policy(name, config)


@hookimpl
def attractor_attribute_schema() -> Mapping[str, Sequence[Any]]:
    """The api and cli backends' attributes, on the nodes that reach a codergen backend
    (codergen stages, and fan-ins that rank with a prompt)."""
    from attractor_core.sdk import GRAPH
    from attractor_plugins.backends.call_controls import ATTRIBUTES as CONTROLS
    from attractor_plugins.backends.call_controls import GRAPH_ATTRIBUTES as GRAPH_CONTROLS
    from attractor_plugins.backends.node_settings import (
        ATTRIBUTES,
        GRAPH_ATTRIBUTES,
        RUN_BUDGET_ATTRIBUTES,
    )

    node = (*ATTRIBUTES, *CONTROLS)
    return {"codergen": node, "parallel.fan_in": node,
            GRAPH: (*GRAPH_ATTRIBUTES, *RUN_BUDGET_ATTRIBUTES, *GRAPH_CONTROLS)}


@hookimpl
def attractor_event_types() -> Sequence[Any]:
    """``provider_selected``, ``llm_failover`` and ``agent_tool_call`` (the LLM layer),
    ``llm_retry`` (call controls), ``llm_usage`` and ``llm_budget_warning`` (accounting
    and budgets): docs/events.md."""
    from attractor_plugins.backends.call_events import CALL_EVENTS
    from attractor_plugins.backends.spend import LlmBudgetWarning, LlmUsage
    from attractor_plugins.events import LLM_EVENTS

    return [*LLM_EVENTS, *CALL_EVENTS, LlmUsage, LlmBudgetWarning]


@hookimpl
def attractor_lint_rules() -> Sequence[Any]:
    """``codergen_backend_attrs``: the api/cli backend attributes of codergen nodes parse;
    ``llm_model_known``: node models are in the catalog; ``llm_budgets``: budgets parse."""
    from attractor_plugins.backends.lint_rule import BackendAttributesRule
    from attractor_plugins.llm.lint import BudgetAttributesRule, ModelKnownRule

    return [BackendAttributesRule(), ModelKnownRule(), BudgetAttributesRule()]


@hookimpl
def attractor_cli_options(command: str, parser: argparse.ArgumentParser) -> Sequence[str]:
    """``--force-model PROVIDER=MODEL`` on run and resume (a resume without it keeps the
    recorded value; with it, replaces it);
    ``--max-cost-usd``, ``--max-tokens`` (or ``--max-total-tokens``) and ``--max-llm-calls``
    (run, resume)."""
    from attractor_plugins.backends.force_model import add_option
    from attractor_plugins.llm.cli import add_budget_flags

    added = list(add_budget_flags(command, parser))
    if command in ("run", "resume"):
        added.append(add_option(parser, resume=command == "resume"))
    return added


@hookimpl
def attractor_cli_commands(subparsers: Any) -> None:
    """``attractor models``: the model catalog."""
    from attractor_plugins.llm.cli import add_models_command

    add_models_command(subparsers)


@hookimpl
def attractor_merge_plugin_state(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    """A sub-pipeline's or a remote branch's LLM spend added to its run's totals."""
    from attractor_plugins.llm.accounting import STATE_KEY, merge_state

    theirs = other.get(STATE_KEY)
    if isinstance(theirs, Mapping):
        merge_state(into.setdefault(STATE_KEY, {}), theirs)
