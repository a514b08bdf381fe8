"""The sub-pipeline handler (spec §9.4, ``type="subgraph"``): a whole pipeline as one stage.

``subgraph.dotfile`` (relative to the parent DOT file) runs as a nested
run under ``{stage_dir}/child/`` with the parent's plugins, policy,
cancellation and stall watchdog; its events reach the parent's stream as
``child_run_event``. ``subgraph.pass_context`` (a comma list of context
keys) seeds the child's context with those parent values. The stage only
waits for the child, so with an executor other than ``local`` the child runs
on a worker (``steered=False``).

The child's final status becomes the node's: ``success`` -> success;
``fail`` or ``canceled`` -> fail with the child's reason and class, the
failed node named ``<child_run_id>:<node>``. An invalid child graph
fails the node as ``structural`` with the parse or validation message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attractor_core.sdk import (
    Context,
    FailureClass,
    FinalRecord,
    Graph,
    Node,
    Outcome,
    ParseError,
    PreflightSettings,
    StageRun,
    ValidationError,
)


class SubgraphHandler:
    # Its outcomes are statuses only, so `outcome=<custom word>` out of it is constant.
    custom_outcomes = False

    def preflight(self, node: Node, graph: Graph, run: PreflightSettings) -> Sequence[str]:
        """The child pipeline's own nodes can run."""
        dotfile = node.get("subgraph.dotfile").strip()
        return [f"in {dotfile}: {p}" for p in run.child_problems(dotfile)] if dotfile else []

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        dotfile = node.get("subgraph.dotfile").strip()
        if not dotfile:
            return Outcome.fail(f"node {node.id}: no subgraph.dotfile attribute; add "
                                'subgraph.dotfile="child.dot" (relative to this DOT file)',
                                FailureClass.STRUCTURAL.value)
        seed = passed_context(node.get("subgraph.pass_context"), context)
        try:
            # It only waits for the child: the run's executor may run it elsewhere.
            async with run.open_child(dotfile, context=seed, steered=False) as child:
                final: FinalRecord = await child.wait()
                child_run_id: str = child.run_id
        except (ParseError, ValidationError) as exc:
            return Outcome.fail(invalid_child_reason(node, dotfile, exc),
                                FailureClass.STRUCTURAL.value)
        return child_outcome(final, child_run_id)


def passed_context(keys: str, context: Context) -> Mapping[str, Any]:
    """The parent values named in a comma list of keys (missing keys are left out)."""
    names = [k.strip() for k in keys.split(",") if k.strip()]
    return {k: context.get(k) for k in names if k in context}


def invalid_child_reason(node: Node, dotfile: str, exc: Exception) -> str:
    return f"node {node.id}: child pipeline {dotfile} is invalid: {exc}"


def child_outcome(final: FinalRecord, child_run_id: str) -> Outcome:
    """The node's outcome from the child's final record."""
    updates = {"subgraph.child_run_id": child_run_id, "subgraph.child_status": final.status,
               "subgraph.child_completed_nodes": list(final.completed_nodes)}
    if final.status == "success":
        return Outcome.success(f"child pipeline {child_run_id} completed", context_updates=updates)
    failed_node = f"{child_run_id}:{final.failed_node_id}" if final.failed_node_id else ""
    klass = final.failure_class or (FailureClass.CANCELED.value if final.status == "canceled"
                                    else FailureClass.DETERMINISTIC.value)
    reason = final.failure_reason or f"child pipeline {child_run_id} ended {final.status}"
    return Outcome.fail(f"child pipeline {child_run_id} {final.status}: {reason}", klass,
                        failure_signature=final.failure_signature, failed_node_id=failed_node,
                        context_updates=updates)
