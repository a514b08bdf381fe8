"""``TrackedDict``: a dict that remembers which keys changed, for journalled checkpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

V = TypeVar("V")


class TrackedDict(dict[str, V]):
    """Records the keys set or removed since ``take_changes()``; ``cleared`` after ``clear()``.

    Only the mutating methods the engine uses are tracked; all of them are.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.changed: set[str] = set()
        self.cleared = False

    def __setitem__(self, key: str, value: V) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.changed.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.changed.add(key)
        return super().setdefault(key, default)

    def update(self, other: Mapping[str, V] | Iterable[tuple[str, V]] = (),  # type: ignore[override]
               **kw: V) -> None:
        items = dict(other, **kw)
        super().update(items)
        self.changed.update(items)

    def clear(self) -> None:
        super().clear()
        self.cleared = True

    def take_changes(self) -> dict[str, V | None]:
        """Changed keys with their values (None for a removed key)."""
        changes = {k: self.get(k) for k in self.changed}
        self.changed.clear()
        return changes
