"""Confinement: every path a tool touches resolves, symlinks included, inside the workdir."""

from __future__ import annotations

import os
from pathlib import Path


class PathEscape(Exception):
    """A path that resolves outside the workdir."""


class Workspace:
    def __init__(self, root: Path):
        self.root = Path(os.path.realpath(root))

    def resolve(self, raw: str) -> Path:
        """The real path of ``raw`` (relative to the workdir), or :class:`PathEscape`.

        ``realpath`` follows every symlink that exists, including a dangling
        last component, so a link pointing outside is caught before any read
        or write goes through it.
        """
        if not raw or "\x00" in raw:
            raise PathEscape(f"invalid path {raw!r}")
        candidate = Path(raw) if os.path.isabs(raw) else self.root / raw
        real = Path(os.path.realpath(candidate))
        if real != self.root and not real.is_relative_to(self.root):
            raise PathEscape(f"path {raw!r} resolves outside the workdir {self.root}; "
                             "use a path inside it")
        return real

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path != self.root else "."
