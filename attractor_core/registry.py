"""The handler registry (spec §4.2), filled from the ``attractor_handler_types`` hook."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from attractor_core.errors import RunError
from attractor_core.model.graph import DEFAULT_HANDLER_TYPE

if TYPE_CHECKING:
    from attractor_core.model import Context, Graph, Node, Outcome
    from attractor_core.protocols import Handler, StageRun


class UnknownHandlerError(RunError, LookupError):
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

    def routes_custom_outcomes(self, node: Node) -> bool:
        """Can this node end with a custom outcome (``needs_dod``)? Each handler declares
        it with a ``custom_outcomes`` attribute; a handler that does not say may (a
        plugin's handler can report any word), and so may a node without a handler."""
        return bool(self._declared(node, "custom_outcomes", default=True))

    def routes_outcome(self, node: Node) -> bool:
        """Whether ``node``'s handler declares itself a routing point (``routes_outcome =
        True``): it passes the previous outcome on for its edges' conditions to route, so
        a failure may walk into it on an unconditional edge (docs/spec-deltas.md §1.1)."""
        return self._declares(node, "routes_outcome")

    def fans_out(self, node: Node) -> bool:
        """Whether ``node``'s handler declares ``fans_out = True``: its unconditional
        edges are branches it runs itself, so a failure never walks them onward."""
        return self._declares(node, "fans_out")

    def retries_any_failure(self, node: Node) -> bool:
        """Whether ``node``'s handler declares ``retries_any_failure = True``: its
        failures carry no class worth judging, so any but a cancellation may be retried
        (a node's ``retry_on=transient`` narrows it back to the retryable classes)."""
        return self._declares(node, "retries_any_failure")

    def _declares(self, node: Node, declaration: str) -> bool:
        return self._declared(node, declaration, default=False) is True

    def _declared(self, node: Node, declaration: str, *, default: bool) -> object:
        """What ``node``'s handler declares, else ``default`` (no declaration, or no
        handler for the node at all)."""
        try:
            handler = self.resolve(node)
        except UnknownHandlerError:
            return default
        return getattr(handler, declaration, default)

    def resolve(self, node: Node) -> Handler:
        """Explicit ``type``, then shape mapping; the spec's default handler (§4.2),
        ``codergen``, runs a node whose type no plugin provides."""
        for candidate in (node.type, node.handler_type, DEFAULT_HANDLER_TYPE):
            if candidate and candidate in self._handlers:
                return self._handlers[candidate]
        raise UnknownHandlerError(
            f"node {node.id}: no handler for type {node.handler_type!r}; "
            "install the plugin that provides it or fix the node's type/shape"
        )


class DeferredHandler:
    """A handler whose class is imported on its first ``execute``.

    ``attractor validate`` builds the handler registry only to learn the node
    types; deferring the import keeps it from loading every handler module
    (and trio with them). ``factory`` is ``"package.module:ClassName"``; the
    class is instantiated without arguments, once per ``DeferredHandler``.

    The handler's class-level declarations that validation and routing ask
    about (``routes_outcome``, ``custom_outcomes``, ``fans_out``,
    ``retries_any_failure``) are passed as keywords so
    that asking does not import the class; any other attribute loads it.
    """

    def __init__(self, factory: str, **declarations: Any):
        self.factory = factory
        self.declarations = declarations
        self._handler: Handler | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this object lacks: declarations, then the real handler.
        if name.startswith("__") or name in ("factory", "declarations", "_handler"):
            raise AttributeError(name)
        if name in self.declarations:
            return self.declarations[name]
        return getattr(self.load(), name)

    def load(self) -> Handler:
        """The real handler, imported and built on first use."""
        if self._handler is None:
            module_name, _, class_name = self.factory.partition(":")
            handler: Handler = getattr(importlib.import_module(module_name), class_name)()
            self._handler = handler
        return self._handler

    async def execute(
        self, node: Node, context: Context, graph: Graph, run: StageRun
    ) -> Outcome | None:
        return await self.load().execute(node, context, graph, run)

    def __repr__(self) -> str:
        return f"DeferredHandler({self.factory!r})"
