"""The run context (spec §5.1): a key-value store shared by the stages of one run.

Trio runs every task on one thread, so no lock is needed: a parallel
branch gets its own ``clone()`` and never shares a context with a sibling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Context:
    def __init__(self, values: Mapping[str, Any] | None = None, logs: list[str] | None = None):
        self._values: dict[str, Any] = dict(values or {})
        self._logs: list[str] = list(logs or [])
        self._changed: set[str] = set()  # keys set since take_changes(), for the journal

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._changed.add(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def get_string(self, key: str, default: str = "") -> str:
        value = self._values.get(key)
        return default if value is None else str(value)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def append_log(self, entry: str) -> None:
        self._logs.append(entry)

    @property
    def logs(self) -> tuple[str, ...]:
        return tuple(self._logs)

    def apply_updates(self, updates: Mapping[str, Any]) -> None:
        self._values.update(updates)
        self._changed.update(updates)

    def take_changes(self) -> dict[str, Any]:
        """The keys set since the last call, with their current values (not copies:
        serialise them before the context changes again)."""
        changes = {k: self._values[k] for k in self._changed}
        self._changed.clear()
        return changes

    def shallow(self) -> dict[str, Any]:
        """A shallow copy of the values: cheap, shares the value objects."""
        return dict(self._values)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the values, safe to serialise or keep."""
        import copy  # here: lint rules build contexts, and validate does without copy

        return copy.deepcopy(self._values)

    def clone(self) -> Context:
        """An independent copy for a parallel branch."""
        import copy

        return Context(copy.deepcopy(self._values), list(self._logs))
