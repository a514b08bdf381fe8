"""Entry point of the ``attractor-plugins`` distribution (group ``attractor``).

Each hook imports what it needs when first called, so loading the entry point
(``attractor validate`` does) costs nothing beyond pluggy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("attractor")


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


@hookimpl
def attractor_codergen_backends() -> Mapping[str, Any]:
    """``api`` (unified LLM client, one-shot or agent loop) and ``cli`` (claude/codex/gemini)."""
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
    from attractor_plugins.backends.node_settings import ATTRIBUTES, GRAPH_ATTRIBUTES

    return {"codergen": ATTRIBUTES, "parallel.fan_in": ATTRIBUTES, GRAPH: GRAPH_ATTRIBUTES}


@hookimpl
def attractor_lint_rules() -> Sequence[Any]:
    """``codergen_backend_attrs``: the api/cli backend attributes of codergen nodes parse."""
    from attractor_plugins.backends.lint_rule import BackendAttributesRule

    return [BackendAttributesRule()]
