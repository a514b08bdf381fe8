"""``Ending``: how a traversal finished, before it becomes final.json."""

from __future__ import annotations

from attrs import frozen

from attractor_core.runtime.checkpoint import NodeRecord
from attractor_core.runtime.final import ExitPath


@frozen
class Ending:
    status: str  # success | fail | canceled
    exit_path: str
    failure_reason: str = ""
    failure_class: str = ""
    failure_signature: str = ""
    failed_node_id: str = ""
    abort_reason: str = ""
    exit_node: str = ""  # the exit node the run reached, if it reached one
    # Stopped from outside the traversal (a cancel, a stall, a plugin's stop_run): the stage
    # in flight was interrupted, not failed, and a resume re-runs it without a crash count.
    interrupted: bool = False
    resumable: bool = False  # a plugin's stop that ``attractor resume`` may continue

    @classmethod
    def success(cls, exit_path: str = ExitPath.SUCCESS, exit_node: str = "") -> Ending:
        return cls("success", exit_path, exit_node=exit_node)

    @classmethod
    def failed(cls, exit_path: str, record: NodeRecord | None = None, reason: str = "",
               failure_class: str = "", node_id: str = "", abort_reason: str = "") -> Ending:
        """A failure; the causal ``record`` supplies what the arguments leave empty."""
        rec = record or NodeRecord("fail")
        return cls("fail", exit_path, reason or rec.failure_reason,
                   failure_class or rec.failure_class, rec.failure_signature,
                   node_id or rec.failed_node_id, abort_reason)

    @classmethod
    def canceled(cls, reason: str) -> Ending:
        return cls("canceled", ExitPath.CANCELED, reason, "canceled", interrupted=True)

    @classmethod
    def stopped(cls, exit_path: str, reason: str, failure_class: str = "",
                resumable: bool = False) -> Ending:
        """A failure a plugin asked for while the run was going (``StageRun.stop_run``)."""
        return cls("fail", exit_path, reason, failure_class, interrupted=True,
                   resumable=resumable)

    @classmethod
    def stop_requested(cls, reason: str) -> Ending:
        """Canceled on request of ``attractor stop``: resumable, like any cancellation."""
        return cls("canceled", ExitPath.STOPPED, reason, "canceled", interrupted=True)
