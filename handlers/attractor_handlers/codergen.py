"""The codergen handler (spec §4.5): the default handler, an LLM task.

It builds the prompt (``prompt`` else ``label``, with ``$goal`` replaced by
the graph's goal), writes ``prompt.md``, hands it to the backend named by
the run option ``backend`` (``--backend``; default ``simulate``), writes
``response.md`` and reports ``last_stage`` and ``last_response``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from attractor_core.sdk import (
    CodergenBackend,
    Context,
    FailureClass,
    Graph,
    Node,
    Outcome,
    RunSettings,
    StageRun,
    evolve,
    write_text_atomic,
)

DEFAULT_BACKEND = "simulate"
LAST_RESPONSE_LIMIT = 200


def build_prompt(node: Node, graph: Graph) -> str:
    """The node's prompt (else its label) with ``$goal`` replaced; no templating engine."""
    return (node.prompt or node.label).replace("$goal", graph.goal)


def response_context(node: Node, response: str) -> dict[str, Any]:
    """The context keys every codergen stage sets (``last_response`` truncated)."""
    return {"last_stage": node.id, "last_response": response[:LAST_RESPONSE_LIMIT]}


def available_backends(hook: Any) -> dict[str, CodergenBackend]:
    """Backends from every plugin; for a name given twice the later-registered plugin wins."""
    merged: dict[str, CodergenBackend] = {}
    for contribution in reversed(hook.attractor_codergen_backends()):
        merged.update(contribution)
    return merged


def backend_name(node: Node, run: RunSettings) -> str:
    """``--backend`` when given; else the ``backend`` of the node's provider in the run's
    ``[llm]`` table (run option ``llm``, see docs/llm.md); else ``simulate``."""
    chosen = run.option("backend")
    if chosen:
        return str(chosen)
    llm = run.option("llm")
    if llm is None or not isinstance(llm, Mapping):  # None: no [llm] table (no ABC check)
        return DEFAULT_BACKEND
    provider = node.llm_provider or str(llm.get("default_provider", ""))
    table = llm.get("providers", {}).get(provider) if provider else None
    backend = table.get("backend") if isinstance(table, Mapping) else None
    return str(backend) if backend else DEFAULT_BACKEND


def unknown_backend(name: str, backends: Mapping[str, CodergenBackend]) -> str:
    known = ", ".join(sorted(backends)) or "none installed"
    return f"unknown codergen backend {name!r} (available: {known})"


class CodergenHandler:
    # The agent may report a custom outcome (needs_dod) for edges to route on.
    custom_outcomes = True

    def __init__(self) -> None:
        # The plugin set is fixed for a run (and a handler instance lives for one run),
        # so the backends are collected once, not at every stage.
        self._backends: dict[str, CodergenBackend] | None = None

    def preflight(self, node: Node, graph: Graph, run: RunSettings) -> Sequence[str]:
        """The backend this node will use exists, and has nothing against the node."""
        name = backend_name(node, run)
        backends = self._backends_of(run)
        backend = backends.get(name)
        if backend is None:
            return [f"{unknown_backend(name, backends)}: pass --backend with one of them, or "
                    "install the plugin that provides it"]
        # isinstance(backend, BackendPreflight) without the protocol machinery: asked for
        # every codergen node before each run.
        check = getattr(backend, "preflight", None)
        if not callable(check):
            return []
        return [f"backend {name}: {problem}" for problem in check(node, run)]

    def _backends_of(self, run: RunSettings) -> dict[str, CodergenBackend]:
        if self._backends is None:
            self._backends = available_backends(run.plugin_hook())
        return self._backends

    def status_in_process(self, node: Node, run: RunSettings) -> bool:
        """Whether the node's backend reports its status itself (``simulate``)."""
        backend = self._backends_of(run).get(backend_name(node, run))
        return getattr(backend, "status_in_process", False) is True

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        prompt = build_prompt(node, graph)
        write_text_atomic(os.path.join(run.stage_dir, "prompt.md"), prompt)
        name = backend_name(node, run)
        backends = self._backends_of(run)
        backend = backends.get(name)
        if backend is None:
            return Outcome.fail(f"node {node.id}: {unknown_backend(name, backends)}",
                                FailureClass.DETERMINISTIC.value)
        result = await backend.run(node, prompt, context, run)
        if isinstance(result, Outcome):
            return _with_response_context(result, node, run)
        response = str(result)
        write_text_atomic(os.path.join(run.stage_dir, "response.md"), response)
        return Outcome.success(
            notes=f"stage completed: {node.id}", context_updates=response_context(node, response)
        )


def _with_response_context(outcome: Outcome, node: Node, run: StageRun) -> Outcome:
    """Add ``last_stage``/``last_response`` under the backend's own context updates."""
    if "last_response" in outcome.context_updates and "last_stage" in outcome.context_updates:
        return outcome  # the backend set them already (simulate does)
    response_file = run.stage_dir / "response.md"
    response = ""
    if response_file.exists():
        response = response_file.read_text(encoding="utf-8", errors="replace")
    updates: Mapping[str, Any] = {**response_context(node, response), **outcome.context_updates}
    return evolve(outcome, context_updates=dict(updates))
