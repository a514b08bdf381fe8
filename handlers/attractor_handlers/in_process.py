"""Handlers whose stages start no process: their status is what they return."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attractor_core.sdk import Node, RunSettings


class StatusInProcess:
    """Mixin for a handler that runs nothing another program could report through: the
    engine neither clears nor reads the fallback status files at its stages."""

    def status_in_process(self, node: Node, run: RunSettings) -> bool:
        return True
