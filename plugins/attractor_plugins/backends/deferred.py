"""``DeferredBackend``: a codergen backend whose module is imported on first use.

The api backend pulls in httpx, jsonschema and the LLM client (a few hundred
milliseconds of imports); a run whose codergen stages all use another backend
(``simulate``, ``cli``) never needs them. The codergen handler asks for every
installed backend once per run, so the hook hands out these stand-ins.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from attractor_core.sdk import Context, Node, Outcome, RunSettings, StageRun


class DeferredBackend:
    """Stands in for ``factory`` (``"package.module:ClassName"``, built without arguments)."""

    def __init__(self, factory: str):
        self.factory = factory
        self._backend: Any = None

    def load(self) -> Any:
        """The real backend, imported and built on first use."""
        if self._backend is None:
            module_name, _, class_name = self.factory.partition(":")
            self._backend = getattr(importlib.import_module(module_name), class_name)()
        return self._backend

    def preflight(self, node: Node, run: RunSettings) -> Sequence[str]:
        check = getattr(self.load(), "preflight", None)
        return check(node, run) if callable(check) else []

    async def run(self, node: Node, prompt: str, context: Context, run: StageRun) -> str | Outcome:
        result: str | Outcome = await self.load().run(node, prompt, context, run)
        return result
