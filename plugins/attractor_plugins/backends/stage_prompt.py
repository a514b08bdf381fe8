"""The prompt a real backend sends: fidelity preamble, status contract (CLI agents), node prompt.

``$goal`` is already expanded by the codergen handler. The assembled text
replaces ``prompt.md`` in the stage dir, so the file shows what was sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attractor_core.sdk import (
    ConditionSyntaxError,
    Context,
    Graph,
    Node,
    StageRun,
    is_custom_outcome,
    parse_condition,
    write_text_atomic,
)

from .fidelity import incoming_edge, resolve_fidelity, run_graph
from .preamble import read_run_so_far, synthesize

if TYPE_CHECKING:
    from .threads import ThreadPlan


def fidelity_for(node: Node, context: Context, run: StageRun) -> str:
    edge = incoming_edge(run.logs_root, run.dot_path, node, run.branch_key)
    return resolve_fidelity(edge.fidelity if edge else "", node.fidelity,
                            context.get_string("graph.default_fidelity"))


def status_contract(node: Node, run: StageRun) -> str:
    path = run.stage_dir / "status.json"
    return "\n".join([
        "## Execution status contract",
        f"When the task is done, write a JSON object to the file named by $ATTRACTOR_STATUS_PATH "
        f"({path}), then end:",
        f'{{"outcome": "success" | "partial_success" | "retry" | "fail", "notes": "...", '
        f'"failure_reason": "... (when not success)", "run_id": "{run.run_id}", '
        f'"node_id": "{node.id}", "attempt": {run.attempt}}}',
        "Keep run_id, node_id and attempt exactly as given: a file with other values is "
        "rejected. Write only this one file; do not write status files anywhere else.",
        *_decisions(node, run),
    ])


def _decisions(node: Node, run: StageRun) -> list[str]:
    """The custom outcomes the node's edges route on, offered beside the statuses."""
    graph = run_graph(run.logs_root, run.dot_path)
    words = routed_outcomes(graph, node.id) if graph is not None else []
    if not words:
        return []
    return ['"outcome" may also be the decision this stage\'s edges route on: '
            + " | ".join(f'"{word}"' for word in words)]


def routed_outcomes(graph: Graph, node_id: str) -> list[str]:
    """Custom outcome words in ``outcome=<word>`` clauses on the node's outgoing edges."""
    words: list[str] = []
    for edge in graph.outgoing(node_id):
        try:
            clauses = parse_condition(edge.condition).clauses
        except ConditionSyntaxError:
            continue
        words += [c.literal for c in clauses if c.key == "outcome" and c.op == "="
                  and is_custom_outcome(c.literal) and c.literal not in words]
    return words


def assemble_prompt(node: Node, prompt: str, context: Context, run: StageRun, *,
                    with_status_contract: bool = False, plan: ThreadPlan | None = None) -> str:
    """``plan`` (api backend) gives the mode; a plan continuing a thread replaces the preamble."""
    mode = plan.mode if plan is not None else fidelity_for(node, context, run)
    if plan is not None and plan.history:
        parts = [_continuation(plan, context, run)]
    else:
        so_far = read_run_so_far(run.logs_root, run.run_id, context.snapshot(), mode)
        parts = [synthesize(mode, so_far) + _thread_note(plan)]
    if with_status_contract:
        parts.append(status_contract(node, run))
    parts += ["## Task", prompt]
    text = "\n\n".join(parts)
    write_text_atomic(run.stage_dir / "prompt.md", text)
    return text


def _continuation(plan: ThreadPlan, context: Context, run: StageRun) -> str:
    # The earlier messages of the thread carry the run so far; only the names are repeated.
    return "\n".join([f"## Run context (fidelity: full, thread: {plan.thread_key})",
                      f"Goal: {context.get_string('graph.goal') or '(none)'}", f"Run: {run.run_id}",
                      f"This continues the conversation above ({len(plan.history)} earlier "
                      "messages on this thread)."])


def _thread_note(plan: ThreadPlan | None) -> str:
    if plan is None or not plan.thread_key:
        return ""
    if plan.degraded:
        return f"\nFidelity degraded from full: {plan.degraded}."
    return f"\nThread: {plan.thread_key} (new conversation)"
