"""What a parallel fan-out reports beyond its status: the join verdict and failed branches."""

from __future__ import annotations

from attrs import frozen


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
