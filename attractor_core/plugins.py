"""The plugin manager: internal plugins, then entry points, then ``check_pending``.

Mirrors tox: the kernel's own plugins are registered exactly like
external ones, so a third-party package is never a second-class citizen.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

import pluggy

from attractor_core import hookspecs
from attractor_core.errors import UsageError

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

# The kernel's internal plugins, by module path; imported lazily so that
# ``import attractor_core`` stays cheap.
INTERNAL_PLUGINS: tuple[str, ...] = (
    "attractor_core.kernel_attributes",
    "attractor_core.validation.builtin_rules",
    "attractor_core.transforms",
)


def make_plugin_manager(
    *, entry_points: bool = True, extra_plugins: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """Build a plugin manager for one run or validation.

    ``entry_points=False`` loads only the kernel (kernel-only tests);
    ``extra_plugins`` are registered after the entry points, so they win
    over built-ins for hooks where the last registration wins.
    """
    import importlib

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module_name in INTERNAL_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if entry_points:
        load_entry_points(pm)
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"a plugin implements an unknown hook: {exc}") from None
    return pm


class PluginLoadError(UsageError):
    """An installed plugin could not be imported or does not fit the hookspecs."""


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every ``attractor`` entry point, naming the culprit if one is broken."""
    for ep in sorted(metadata.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            raise PluginLoadError(
                f"plugin {ep.name!r} ({ep.value}, from {dist}) failed to load: "
                f"{type(exc).__name__}: {exc}; fix or uninstall that package") from None


def collect_in_registration_order(results: list[Any]) -> list[Any]:
    """Flatten list-returning hook results into plugin registration order.

    pluggy calls implementations last-registered first; reversing gives the
    order in which plugins were registered.
    """
    flat: list[Any] = []
    for contribution in reversed(results):
        flat.extend(contribution)
    return flat
