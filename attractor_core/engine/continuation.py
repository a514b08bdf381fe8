"""Continuing a lane from its checkpoint: the main path on ``resume``, a parallel
branch or a sub-pipeline whose enclosing stage was interrupted.

Every lane keeps its own checkpoint (``checkpoint.json`` plus journal), so
each one continues from its own last stage: stages it completed are not
run again, and the stage it had in flight is re-run as a continuation of
the interrupted attempt (same execution number, so it finds the branches
and the child run that attempt had started).
"""

from __future__ import annotations

from pathlib import Path

from attractor_core.model import Context, Graph, Outcome, StageStatus
from attractor_core.runtime.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from attractor_core.runtime.rundir import CHILD_DIR, branch_pass_dir

from .stage import crash_rerun_outcome
from .state import RunState, mirror_graph_attributes
from .topology import find_start

CHECKPOINT_NAME = "checkpoint.json"


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The lane's checkpoint, or None if the lane never started a stage.
    Raises ``CheckpointError`` for one that cannot be read."""
    if not path.exists():
        return None
    return load_checkpoint(path)


def fresh_state(graph: Graph) -> RunState:
    context = Context()
    mirror_graph_attributes(dict(graph.attrs), context)
    return RunState(context=context)


def resume_point(cp: Checkpoint | None, state: RunState, graph: Graph,
                 stage_root: Path) -> tuple[str, Outcome | None]:
    """Where the lane continues, and the outcome that replaces that node's run if it
    may not run again. ``stage_root`` is where the lane's stage dirs are."""
    if cp is None:
        return find_start(graph).id, None
    for node_id in (cp.current_node, cp.next_node):
        if node_id and node_id not in graph.nodes:
            raise CheckpointError(f"checkpoint names node {node_id!r}, which the graph lacks")
    if cp.in_flight is not None:
        return _continue_in_flight(cp, state, graph, stage_root)
    if cp.next_node:
        return cp.next_node, None
    # The lane ended but died before recording it: replay its last routing decision.
    current = cp.current_node
    record = state.node_outcomes.get(current)
    if state.completed_nodes and state.completed_nodes[-1] == current:
        state.completed_nodes.pop()
    return current, Outcome.named(record.status if record else StageStatus.SUCCESS.value,
                                  failure_reason=record.failure_reason if record else "",
                                  failure_class=record.failure_class if record else "",
                                  failed_node_id=record.failed_node_id if record else "")


def _continue_in_flight(cp: Checkpoint, state: RunState, graph: Graph,
                        stage_root: Path) -> tuple[str, Outcome | None]:
    """A crash is charged to the innermost stages in flight: a node whose interrupted
    attempt had a nested lane (branch, child run) with a stage in flight is continued
    without a charge, since that lane's own stage carries it."""
    assert cp.in_flight is not None
    node = graph.nodes[cp.in_flight.node_id]
    reruns = state.crash_reruns.get(node.id, 0)
    execution = state.node_executions.get(node.id, 0)
    if not cp.stopped_cleanly and not nested_stage_in_flight(stage_root, node.id, execution):
        reruns += 1
        state.crash_reruns[node.id] = reruns
    refused = crash_rerun_outcome(node, reruns)
    if refused is None:
        state.continuing = node.id
    return node.id, refused


def nested_stage_in_flight(stage_root: Path, node_id: str, execution: int) -> bool:
    """Whether the node's interrupted execution left a branch or child run with a stage
    in flight that was not stopped on purpose."""
    lanes = [*branch_pass_dir(stage_root, node_id, execution).glob(f"*/{CHECKPOINT_NAME}"),
             stage_root / node_id / CHILD_DIR / CHECKPOINT_NAME]
    for path in lanes:
        try:
            cp = read_checkpoint(path)
        except CheckpointError:
            continue
        if (cp is not None and cp.in_flight is not None and not cp.stopped_cleanly
                and cp.branch_result is None):
            return True
    return False
