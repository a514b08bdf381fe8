"""``BranchResult``: how one parallel branch ended."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from attractor_core.model.values import to_str_tuple


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

    @property
    def succeeded(self) -> bool:
        return self.status in ("success", "partial_success")

    @classmethod
    def canceled(cls, key: str, index: int, start: str, reason: str) -> BranchResult:
        return cls(key, index, start, "canceled", reason, "canceled")


@frozen
class BranchFailure:
    """One parallel branch that did not succeed, as final.json reports it."""

    branch_key: str
    status: str
    failure_reason: str = ""
    failure_class: str = ""
    failed_node_id: str = ""


@frozen
class FanOutReport:
    """What a fan-out says beyond its status: the join policy's verdict
    (``wait_all: 3 of 4 branches succeeded; b2 failed: ...``) and the branches
    that failed. A run that carried on past failed branches still names them."""

    verdict: str
    failed_branches: tuple[BranchFailure, ...] = ()
