"""The plugin manager: built-ins, then third parties, then ``check_pending``.

Mirrors tox: the kernel's own plugins and the built-in distributions are
registered exactly like external ones, through the same hooks and the same
entry-point group, so a third-party package is never a second-class citizen.
Registration order is what makes overriding work: hooks that merge
contributions let the later plugin win, and ``firstresult`` hooks ask the
later plugin first. The order is

1. the kernel's internal plugins (``INTERNAL_PLUGINS``);
2. the entry points of the built-in distributions (``BUILTIN_DISTRIBUTIONS``,
   in that order);
3. every other entry point of group ``attractor``, sorted by distribution
   name, then entry-point name;
4. the caller's ``extra_plugins``.

so a third party overrides a built-in whatever its names are.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import pluggy

from attractor_core import hookspecs
from attractor_core.entry_points import (
    BUILTIN_DISTRIBUTIONS,
    FoundEntryPoint,
    PluginLoadError,
    distribution_name,
    find_entry_points,
    registration_order,
)

__all__ = ["BUILTIN_DISTRIBUTIONS", "INTERNAL_PLUGINS", "FoundEntryPoint", "PluginLoadError",
           "collect_in_registration_order", "distribution_name", "find_entry_points",
           "hookimpl", "load_entry_points", "make_plugin_manager", "registration_order"]

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
    ``extra_plugins`` are registered last, so they win over every installed
    plugin for hooks where the last registration wins.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    # Every plugin, as it is registered, may declare hooks of its own (historic call).
    pm.hook.attractor_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
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


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every ``attractor`` entry point, naming the culprit if one is broken."""
    owners: dict[str, str] = {}
    for ep in registration_order(find_entry_points(hookspecs.PROJECT)):
        if pm.is_blocked(ep.name):
            continue
        dist = distribution_name(ep) or "an unknown distribution"
        if ep.name in owners:
            raise PluginLoadError(
                f"plugins from {owners[ep.name]} and {dist} share the entry-point name "
                f"{ep.name!r} in group {hookspecs.PROJECT!r}; rename one of them")
        owners[ep.name] = dist
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
