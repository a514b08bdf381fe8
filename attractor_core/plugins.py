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

import functools
import importlib
import os
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from attractor_core import hookspecs
from attractor_core.errors import UsageError

if TYPE_CHECKING:  # importlib.metadata is imported only when the fast scan cannot be trusted
    from importlib import metadata

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

# The kernel's internal plugins, by module path; imported lazily so that
# ``import attractor_core`` stays cheap.
INTERNAL_PLUGINS: tuple[str, ...] = (
    "attractor_core.kernel_attributes",
    "attractor_core.validation.builtin_rules",
    "attractor_core.transforms",
)

# The distributions shipped with attractor. They register through the entry-point
# group like any plugin; naming them only decides that they come before the rest.
BUILTIN_DISTRIBUTIONS: tuple[str, ...] = ("attractor-handlers", "attractor-plugins")


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


class PluginLoadError(UsageError):
    """An installed plugin could not be imported or does not fit the hookspecs."""


def distribution_name(ep: metadata.EntryPoint | FoundEntryPoint) -> str:
    """The normalised name (PEP 503) of the distribution declaring ``ep``.

    Taken from the ``*.dist-info`` folder's name where importlib offers it:
    ``Distribution.name`` parses the whole METADATA file (and imports the
    email package) for every installed plugin on every start.
    """
    if isinstance(ep, FoundEntryPoint):
        return ep.distribution
    if ep.dist is None:
        return ""
    name = getattr(ep.dist, "_normalized_name", None) or ep.dist.name
    return _pep503(str(name))


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class FoundEntryPoint:
    """An entry point read straight from a ``*.dist-info/entry_points.txt`` on ``sys.path``:
    what :class:`importlib.metadata.EntryPoint` offers here (``name``, ``value``, ``load``)
    without importing importlib.metadata (and email, zipfile, csv) on every start."""

    __slots__ = ("distribution", "name", "value")

    _PATTERN = re.compile(
        r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")

    def __init__(self, name: str, value: str, distribution: str):
        self.name = name
        self.value = value
        self.distribution = distribution

    def load(self) -> Any:
        """Import the module and follow the attribute path, as EntryPoint.load does."""
        match = self._PATTERN.match(self.value)
        if match is None:
            raise PluginLoadError(f"malformed entry point value {self.value!r}")
        module = importlib.import_module(match.group("module"))
        attributes = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attributes, module)


def find_entry_points(group: str) -> list[metadata.EntryPoint] | list[FoundEntryPoint]:
    """The entry points of ``group`` of every distribution on ``sys.path``.

    What ``importlib.metadata.entry_points(group=...)`` returns (the first distribution of
    a name on ``sys.path`` wins), read by listing the ``sys.path`` folders and parsing
    their ``entry_points.txt`` files. Where that scan could miss something importlib sees
    (a zip or egg on ``sys.path``, a meta path finder of its own that finds distributions),
    importlib.metadata answers instead.
    """
    scanned = _scan(group)
    if scanned is not None:
        return scanned
    from importlib import metadata

    return list(metadata.entry_points(group=group))


def _scan(group: str) -> list[FoundEntryPoint] | None:
    from importlib.machinery import PathFinder

    if any(finder is not PathFinder and hasattr(finder, "find_distributions")
           for finder in sys.meta_path):
        return None
    seen: set[str] = set()
    found: list[FoundEntryPoint] = []
    for entry in sys.path:
        root = entry or "."
        if root.lower().endswith(".egg"):
            return None
        try:
            children = os.listdir(root)
        except NotADirectoryError:
            return None  # a zip file on sys.path
        except OSError:
            continue  # a folder that does not exist (yet): importlib skips it too
        for child in children:
            low = child.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            distribution = _pep503(low.rpartition(".")[0].partition("-")[0])
            if distribution in seen:
                continue
            seen.add(distribution)
            found.extend(_entry_points_of(os.path.join(root, child), group, distribution))
    return found


def _entry_points_of(folder: str, group: str, distribution: str) -> list[FoundEntryPoint]:
    """``entry_points.txt`` parsed as importlib.metadata does: stripped lines, ``#``
    comments, ``[group]`` headers, ``name = value``."""
    try:
        with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return []
    found = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, _, value = line.partition("=")
            found.append(FoundEntryPoint(name.strip(), value.strip(), distribution))
    return found


def registration_order(eps: Iterable[Any]) -> list[Any]:
    """Built-in distributions first, then the rest by distribution and entry-point name."""

    def key(ep: metadata.EntryPoint | FoundEntryPoint) -> tuple[int, str, str]:
        dist = distribution_name(ep)
        rank = (BUILTIN_DISTRIBUTIONS.index(dist) if dist in BUILTIN_DISTRIBUTIONS
                else len(BUILTIN_DISTRIBUTIONS))
        return rank, dist, ep.name

    return sorted(eps, key=key)


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
