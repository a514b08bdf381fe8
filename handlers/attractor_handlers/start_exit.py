"""The start and exit handlers (spec §4.3, §4.4): no-ops that succeed.

Goal gates are the engine's business (§3.4), not the exit handler's.
"""

from __future__ import annotations

from attractor_core.sdk import Context, Graph, Node, Outcome, StageRun
from attractor_handlers.in_process import StatusInProcess


class StartHandler(StatusInProcess):
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        return Outcome.success(notes=f"start: {node.id}")


class ExitHandler(StatusInProcess):
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        return Outcome.success(notes=f"exit: {node.id}")
