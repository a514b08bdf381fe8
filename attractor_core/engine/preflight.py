"""Checks made before a run starts, so a mistake is caught before hours of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from attractor_core.errors import UsageError
from attractor_core.model import Graph
from attractor_core.runtime.events import Warning

from .services import RunServices


def check_interviewer(pm: pluggy.PluginManager, graph: Graph, options: Mapping[str, Any]) -> None:
    """An unknown ``--interviewer`` is a usage error now, not when the first gate asks."""
    spec = options.get("interviewer")
    if not isinstance(spec, str) or not any(
            n.handler_type == "wait.human" for n in graph.nodes.values()):
        return
    if pm.hook.attractor_make_interviewer(spec=spec) is None:
        raise UsageError(f"unknown interviewer {spec!r}: use auto, console or queue:FILE "
                         "(or one a plugin provides)")


def warn_unknown_types(services: RunServices) -> None:
    """A node whose explicit type no plugin provides runs as codergen (spec §4.2): say so."""
    for node in services.graph.nodes.values():
        if node.type and node.type not in services.registry:
            services.emit(Warning(
                f"node {node.id}: no plugin provides type {node.type!r}; it will run with the "
                "default codergen handler. Install the plugin or fix the type", node.id))
