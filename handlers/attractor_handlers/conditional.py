"""The conditional handler (spec §4.7): a routing point that passes the previous outcome on.

The engine routes a diamond by its outgoing edges' conditions. The
handler hands the previous stage's outcome through unchanged (status,
preferred label, failure reason, class, signature and the failing node's
id), read from the context keys the engine sets after every stage. So
``condition="outcome=fail"`` on a diamond's edge sees the real outcome,
and a diamond is never recorded as the cause of a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attractor_core.sdk import Outcome, OutcomeTokenError, StageStatus, parse_outcome
from attractor_handlers.in_process import StatusInProcess

if TYPE_CHECKING:
    from attractor_core.sdk import Context, Graph, Node, StageRun


class ConditionalHandler(StatusInProcess):
    # It passes the previous outcome on (a custom one too) but reports none of its own.
    custom_outcomes = False
    # A pass-through has nothing to retry: re-running it returns the same outcome.
    single_attempt = True
    # A routing point: a failure may walk into it on an unconditional edge, and its
    # outgoing conditions decide where the failure goes (docs/spec-deltas.md §1.1).
    routes_outcome = True

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        status, custom = _previous_outcome(context)
        failed = status in (StageStatus.FAIL, StageStatus.RETRY)
        return Outcome(
            status,
            custom=custom,
            preferred_label=context.get_string("preferred_label"),
            notes=f"conditional pass-through at {node.id}",
            failure_reason=context.get_string("failure_reason") if failed else "",
            failure_class=context.get_string("failure_class") if failed else "",
            failure_signature=context.get_string("failure_signature") if failed else "",
            failed_node_id=context.get_string("failed_node_id") if failed else "",
        )


def _previous_outcome(context: Context) -> tuple[StageStatus, str]:
    """The previous stage's outcome (a custom one included); missing or unreadable
    counts as success (nothing failed)."""
    value = context.get("outcome")
    if isinstance(value, StageStatus):
        return value, ""
    try:
        return parse_outcome(str(value or "success"))
    except OutcomeTokenError:
        return StageStatus.SUCCESS, ""
