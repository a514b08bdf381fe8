"""The handler registry (spec §4.2), filled from the ``attractor_handler_types`` hook."""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

from attractor_core.model import Node
from attractor_core.protocols import Handler


class UnknownHandlerError(LookupError):
    """No plugin provides a handler for a node's type."""


class HandlerRegistry:
    def __init__(self, handlers: Mapping[str, Handler]):
        self._handlers = dict(handlers)

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> HandlerRegistry:
        merged: dict[str, Handler] = {}
        # pluggy returns last-registered first; apply in registration order so later wins.
        for contribution in reversed(pm.hook.attractor_handler_types()):
            merged.update(contribution)
        return cls(merged)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def __contains__(self, handler_type: object) -> bool:
        return handler_type in self._handlers

    def routes_outcome(self, node: Node) -> bool:
        """Whether ``node``'s handler declares itself a routing point (``routes_outcome =
        True``): it passes the previous outcome on for its edges' conditions to route, so
        a failure may walk into it on an unconditional edge (docs/spec-deltas.md §1.1)."""
        try:
            handler = self.resolve(node)
        except UnknownHandlerError:
            return False
        return getattr(handler, "routes_outcome", False) is True

    def resolve(self, node: Node) -> Handler:
        """Explicit ``type``, then shape mapping; the codergen handler is the default."""
        for candidate in (node.type, node.handler_type, "codergen"):
            if candidate and candidate in self._handlers:
                return self._handlers[candidate]
        raise UnknownHandlerError(
            f"node {node.id}: no handler for type {node.handler_type!r}; "
            "install the plugin that provides it or fix the node's type/shape"
        )
