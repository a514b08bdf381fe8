"""The plugin manager: internal plugins, then entry points, then ``check_pending``.

Mirrors tox: the kernel's own plugins are registered exactly like
external ones, so a third-party package is never a second-class citizen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from attractor_core import hookspecs

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

# The kernel's internal plugins, by module path; imported lazily so that
# ``import attractor_core`` stays cheap.
INTERNAL_PLUGINS: tuple[str, ...] = (
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
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.check_pending()
    return pm


def collect_in_registration_order(results: list[Any]) -> list[Any]:
    """Flatten list-returning hook results into plugin registration order.

    pluggy calls implementations last-registered first; reversing gives the
    order in which plugins were registered.
    """
    flat: list[Any] = []
    for contribution in reversed(results):
        flat.extend(contribution)
    return flat
