"""What ``attractor run`` prints while a run goes: plain lines, or a live line on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import trio

from attractor_core.model import outcome_passes


class ProgressView:
    """An event observer. On a terminal the current stage is redrawn in place
    (node, attempt, elapsed); elsewhere each stage start and end is one line."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._started: dict[str, float] = {}
        self._current = ""  # the live line's text, redrawn with the elapsed time

    async def tick(self, interval: float = 0.5) -> None:
        """On a terminal, keep the current stage's elapsed time moving."""
        while True:
            await trio.sleep(interval)
            if self.live and self._current and self._started:
                since = min(self._started.values())
                self._draw(f"{self._current} {time.monotonic() - since:5.1f}s")

    def __call__(self, event: Mapping[str, Any]) -> None:
        kind = event["event"]
        if kind == "stage_attempt_start":
            self._started[event["attempt_id"]] = time.monotonic()
            self._current = f"▶ {event['node_id']} ({_which(event)})"
            self._status(self._current)
        elif kind == "stage_attempt_end":
            self._ended(event)
        elif kind == "stage_retry_sleep":
            self._line(f"↻ {event['node_id']} retrying in {event['delay_ms']} ms")
        elif kind == "loop_restart":
            self._line(f"⟲ loop restart {event['restart_count']} at {event['to_node']}")

    def _ended(self, event: Mapping[str, Any]) -> None:
        elapsed = time.monotonic() - self._started.pop(event["attempt_id"], time.monotonic())
        self._current = ""
        node, cause = event["node_id"], event.get("failed_node_id", "")
        if event["status"] == "fail" and event.get("routing_point") and cause != node:
            # A diamond handing on an earlier stage's failure: not a failure of its own.
            self._line(f"↳ {node} routes the failure of {cause or 'the stage before it'}")
            return
        mark = "✓" if outcome_passes(event["status"]) else "✗"
        reason = f": {event['failure_reason']}" if event.get("failure_reason") else ""
        self._line(f"{mark} {node} {event['status']} ({_which(event)}, {elapsed:.1f}s){reason}")

    def _draw(self, text: str) -> None:
        self.stream.write(f"\r\x1b[2K{text}")
        self.stream.flush()

    def _status(self, text: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[2K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[2K" if self.live else ""
        self.stream.write(prefix + text + "\n")
        self.stream.flush()


def _which(event: Mapping[str, Any]) -> str:
    """``attempt 1`` on a first visit; ``visit 3`` (and ``attempt 2`` on a retry) after."""
    visit, attempt = int(event.get("visit") or 0), event["attempt"]
    if visit <= 1:
        return f"attempt {attempt}"
    return f"visit {visit}" + (f", attempt {attempt}" if attempt > 1 else "")
