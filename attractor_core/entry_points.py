"""Entry points read from the installed distributions, without pluggy or importlib.metadata.

``attractor --help`` lists the commands plugins declare (group ``attractor.commands``) and
the plugin manager registers the plugins (group ``attractor``) from the same scan, so the
short commands pay neither for pluggy nor for importlib.metadata (which imports email,
zipfile and csv). Registration order: the built-in distributions (``BUILTIN_DISTRIBUTIONS``,
in that order), then every other distribution by name, then entry-point name.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from attractor_core.errors import UsageError

if TYPE_CHECKING:  # importlib.metadata is imported only when the fast scan cannot be trusted
    from importlib import metadata

# The distributions shipped with attractor. They register through the entry-point
# group like any plugin; naming them only decides that they come before the rest.
BUILTIN_DISTRIBUTIONS: tuple[str, ...] = ("attractor-handlers", "attractor-plugins")


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
        # os.open, not open(): a scan opens one file per installed distribution, most of
        # which do not exist, and every start of ``validate`` and ``--help`` scans.
        fd = os.open(os.path.join(folder, "entry_points.txt"), os.O_RDONLY)
    except OSError:
        return []
    try:
        data = b"".join(iter(lambda: os.read(fd, 65536), b""))
    except OSError:
        return []
    finally:
        os.close(fd)
    if group.encode() not in data:  # no section of the group: nothing to parse
        return []
    text = data.decode("utf-8")
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


