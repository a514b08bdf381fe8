"""What a parallel fan-out reports beyond its status: the join verdict and failed branches."""

from __future__ import annotations

from attractor_core.records import Record


class BranchFailure(Record):
    """One parallel branch that did not succeed, as final.json reports it."""

    __match_args__ = __slots__ = ("branch_key", "status", "failure_reason", "failure_class",
                      "failed_node_id")
    branch_key: str
    status: str
    failure_reason: str
    failure_class: str
    failed_node_id: str

    def __init__(self, branch_key: str, status: str, failure_reason: str = "",
                 failure_class: str = "", failed_node_id: str = "") -> None:
        setter = object.__setattr__
        setter(self, "branch_key", branch_key)
        setter(self, "status", status)
        setter(self, "failure_reason", failure_reason)
        setter(self, "failure_class", failure_class)
        setter(self, "failed_node_id", failed_node_id)


class FanOutReport(Record):
    """What a fan-out says beyond its status: the join policy's verdict
    (``wait_all: 3 of 4 branches succeeded; b2 failed: ...``) and the branches
    that failed. A run that carried on past failed branches still names them."""

    __match_args__ = __slots__ = ("verdict", "failed_branches")
    verdict: str
    failed_branches: tuple[BranchFailure, ...]

    def __init__(self, verdict: str, failed_branches: tuple[BranchFailure, ...] = ()) -> None:
        object.__setattr__(self, "verdict", verdict)
        object.__setattr__(self, "failed_branches", failed_branches)
