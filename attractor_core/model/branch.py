"""``BranchResult``: how one parallel branch ended."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from attractor_core.model.outcome import outcome_passes
from attractor_core.model.values import to_str_tuple

CANCELED = "canceled"


@frozen
class BranchResult:
    """``status`` is the branch's last outcome status, or ``canceled``.

    A branch that was cancelled (early termination, run cancellation) or
    never started is never a success, whatever its last stage said.
    """

    branch_key: str
    index: int
    start_node: str
    status: str
    failure_reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    failed_node_id: str = ""
    last_node: str = ""
    completed_nodes: tuple[str, ...] = field(default=(), converter=to_str_tuple)
    logs_root: str = ""
    duration_ms: int = 0
    score: float = 0.0
    context_updates: dict[str, Any] = field(factory=dict)
    # Where the workspace plugin kept the branch's work (e.g. its git ref and head commit).
    workspace: dict[str, Any] = field(factory=dict)
    # A branch run by a remote executor: its own plugin state, merged into its run's when
    # the result comes back (a local branch shares its run's: empty).
    plugins: dict[str, Any] = field(factory=dict)
    # A plugin stopped the run in a remote branch: ``exit_path``, ``reason``,
    # ``failure_class``, ``resumable`` for the run's ``stop_run``, and the branch's
    # plugin state at that moment (``plugins``).
    stop_run: dict[str, Any] = field(factory=dict)

    @property
    def succeeded(self) -> bool:
        # A custom outcome (a routing decision) passes; ``canceled`` is not an outcome.
        return self.status != CANCELED and outcome_passes(self.status)

    @classmethod
    def canceled(cls, key: str, index: int, start: str, reason: str) -> BranchResult:
        return cls(key, index, start, CANCELED, reason, CANCELED)
