"""Checks made before a run starts, so a mistake is caught before hours of work.

Beyond validation, every node is asked whether it can run as configured:
the handler that will execute it answers through its optional
``preflight`` method (:class:`~attractor_core.protocols.NodePreflight`).
The kernel knows nothing of what a handler checks (the codergen handler
asks its backend for provider, model, key or executable); it collects
every answer and refuses the run, listing them all, before any stage has
had a side effect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pluggy
from attrs import frozen

from attractor_core.dot import ParseError
from attractor_core.errors import UsageError
from attractor_core.model import Graph, Node
from attractor_core.pipeline import load_pipeline, resolve_child_path
from attractor_core.registry import HandlerRegistry, UnknownHandlerError
from attractor_core.runtime.events import Warning
from attractor_core.validation import ValidationError

from .services import RunServices


class PreflightError(UsageError):
    """Some nodes cannot run as configured; the message lists each with what to set."""


@frozen
class PreflightRun:
    """The :class:`~attractor_core.protocols.PreflightSettings` of a run not yet started.

    ``visiting`` holds the pipeline files being checked, so a sub-pipeline that
    includes itself is checked once (the run refuses the cycle when it gets there).
    """

    options: Mapping[str, Any]
    pm: pluggy.PluginManager
    registry: HandlerRegistry
    dot_path: Path | None = None
    visiting: frozenset[Path] = frozenset()

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def plugin_hook(self) -> Any:
        return self.pm.hook

    def child_problems(self, dot_file: str) -> Sequence[str]:
        path = resolve_child_path(self.dot_path, dot_file)
        if path in self.visiting:
            return []
        try:
            child = load_pipeline(path, self.pm)
        except (ParseError, ValidationError):
            return []
        run = attrs.evolve(self, dot_path=path, visiting=self.visiting | {path})
        return graph_problems(child, run)


def check_nodes(pm: pluggy.PluginManager, graph: Graph, options: Mapping[str, Any]) -> None:
    """Raise :class:`PreflightError` naming every node whose handler says it cannot run."""
    source = Path(graph.source_file) if graph.source_file else None
    run = PreflightRun(options, pm, HandlerRegistry.from_plugins(pm), source,
                       frozenset({source.resolve()}) if source else frozenset())
    found = [f"  {problem}" for problem in graph_problems(graph, run)]
    if found:
        count = f"{len(found)} problem{'s' if len(found) != 1 else ''}"
        raise PreflightError("\n".join(
            [f"pipeline cannot run ({count} found before the first stage):", *found]))


def graph_problems(graph: Graph, run: PreflightRun) -> list[str]:
    """``FILE:LINE: node ID: problem`` for every problem of every node of ``graph``."""
    return [f"{_where(graph, node)}: {problem}"
            for node in graph.nodes.values()
            for problem in _node_problems(run.registry, node, graph, run)]


def _node_problems(registry: HandlerRegistry, node: Node, graph: Graph,
                   run: PreflightRun) -> Sequence[str]:
    try:
        handler = registry.resolve(node)
    except UnknownHandlerError:
        return ()  # nothing can run it; the engine reports that at the node
    # What isinstance(handler, NodePreflight) decides, without the protocol machinery:
    # this runs for every node of the graph before each run.
    check = getattr(handler, "preflight", None)
    if not callable(check):
        return ()
    try:
        return [str(p) for p in check(node, graph, run)]
    except Exception as exc:  # a plugin's check must not hide the other nodes' answers
        return [f"the preflight check of {type(handler).__name__} raised "
                f"{type(exc).__name__}: {exc}; fix or uninstall the plugin that provides it"]


def _where(graph: Graph, node: Node) -> str:
    return f"{graph.source_file or '<string>'}:{node.line}: node {node.id}"


def warn_unknown_types(services: RunServices) -> None:
    """A node whose explicit type no plugin provides runs as codergen (spec §4.2): say so."""
    for node in services.config.graph.nodes.values():
        if node.type and node.type not in services.config.registry:
            services.emit(Warning(
                f"node {node.id}: no plugin provides type {node.type!r}; it will run with the "
                "default codergen handler. Install the plugin or fix the type", node.id))
