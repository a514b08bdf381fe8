"""``BranchResult``: how one parallel branch ended."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attractor_core.model.outcome import outcome_passes
from attractor_core.model.values import to_str_tuple
from attractor_core.records import Record

CANCELED = "canceled"


class BranchResult(Record):
    """``status`` is the branch's last outcome status, or ``canceled``.

    A branch that was cancelled (early termination, run cancellation) or
    never started is never a success, whatever its last stage said.
    """

    __match_args__ = __slots__ = (
        "branch_key", "index", "start_node", "status", "failure_reason", "failure_class",
        "failure_signature", "failed_node_id", "last_node", "completed_nodes", "logs_root",
        "duration_ms", "score", "context_updates", "workspace", "plugins", "stop_run",
    )
    branch_key: str
    index: int
    start_node: str
    status: str
    failure_reason: str
    failure_class: str
    failure_signature: str
    failed_node_id: str
    last_node: str
    completed_nodes: tuple[str, ...]
    logs_root: str
    duration_ms: int
    score: float
    context_updates: dict[str, Any]
    # Where the workspace plugin kept the branch's work (e.g. its git ref and head commit).
    workspace: dict[str, Any]
    # A branch run by a remote executor: its own plugin state, merged into its run's when
    # the result comes back (a local branch shares its run's: empty).
    plugins: dict[str, Any]
    # A plugin stopped the run in a remote branch: ``exit_path``, ``reason``,
    # ``failure_class``, ``resumable`` for the run's ``stop_run``, and the branch's
    # plugin state at that moment (``plugins``).
    stop_run: dict[str, Any]

    def __init__(self, branch_key: str, index: int, start_node: str, status: str,
                 failure_reason: str = "", failure_class: str = "", failure_signature: str = "",
                 failed_node_id: str = "", last_node: str = "",
                 completed_nodes: Iterable[str] = (), logs_root: str = "", duration_ms: int = 0,
                 score: float = 0.0, context_updates: dict[str, Any] | None = None,
                 workspace: dict[str, Any] | None = None, plugins: dict[str, Any] | None = None,
                 stop_run: dict[str, Any] | None = None) -> None:
        setter = object.__setattr__
        setter(self, "branch_key", branch_key)
        setter(self, "index", index)
        setter(self, "start_node", start_node)
        setter(self, "status", status)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failure_signature", failure_signature)
        setter(self, "failed_node_id", failed_node_id)
        setter(self, "last_node", last_node)
        setter(self, "completed_nodes", to_str_tuple(completed_nodes))
        setter(self, "logs_root", logs_root)
        setter(self, "duration_ms", duration_ms)
        setter(self, "score", score)
        setter(self, "context_updates", {} if context_updates is None else context_updates)
        setter(self, "workspace", {} if workspace is None else workspace)
        setter(self, "plugins", {} if plugins is None else plugins)
        setter(self, "stop_run", {} if stop_run is None else stop_run)

    @property
    def succeeded(self) -> bool:
        # A custom outcome (a routing decision) passes; ``canceled`` is not an outcome.
        return self.status != CANCELED and outcome_passes(self.status)

    @classmethod
    def canceled(cls, key: str, index: int, start: str, reason: str) -> BranchResult:
        return cls(key, index, start, CANCELED, reason, CANCELED)
