"""Per-lane liveness: when did each active traversal lane last make progress?

A lane is the main path or one parallel branch. A lane that is waiting
for child lanes (a parallel node running its branches) is judged by its
children only, so a hung branch can never be hidden by a busy parent and
a parent waiting on live branches is never called stalled.
"""

from __future__ import annotations

from collections.abc import Callable

import trio
from attrs import define, field


@define
class _Lane:
    last_progress: float
    parent: str | None
    scope: trio.CancelScope | None
    children: int = 0
    stalled_reason: str = ""


@define
class LivenessTracker:
    clock: Callable[[], float] = trio.current_time
    _lanes: dict[str, _Lane] = field(factory=dict)

    def open_lane(self, key: str, parent: str | None = None,
                  scope: trio.CancelScope | None = None) -> None:
        self._lanes[key] = _Lane(self.clock(), parent, scope)
        if parent is not None and parent in self._lanes:
            self._lanes[parent].children += 1

    def close_lane(self, key: str) -> None:
        """Called when a lane's task has exited: it stops counting at once."""
        lane = self._lanes.pop(key, None)
        if lane is not None and lane.parent in self._lanes:
            parent = self._lanes[lane.parent]
            parent.children -= 1
            parent.last_progress = self.clock()  # a finished branch is progress

    def progress(self, key: str) -> None:
        lane = self._lanes.get(key)
        if lane is not None:
            lane.last_progress = self.clock()

    def idle_leaves(self) -> dict[str, float]:
        """Seconds since the last progress of every lane not waiting on children
        (a lane already stalled is on its way out and is not judged again)."""
        now = self.clock()
        return {k: now - lane.last_progress for k, lane in self._lanes.items()
                if lane.children == 0 and not lane.stalled_reason}

    def stall_branch(self, key: str, reason: str) -> None:
        """Cancel one branch lane, remembering why for its result."""
        lane = self._lanes.get(key)
        if lane is not None and lane.scope is not None:
            lane.stalled_reason = reason
            lane.scope.cancel()

    def stalled_reason(self, key: str) -> str:
        lane = self._lanes.get(key)
        return lane.stalled_reason if lane is not None else ""
