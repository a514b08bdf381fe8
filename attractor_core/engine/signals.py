"""SIGINT and SIGTERM become a run cancellation, never an abrupt exit.

The first signal cancels the run: running process groups get SIGTERM and
their kill grace. A second one (the impatient Ctrl-C Ctrl-C, or ``docker
stop``'s SIGTERM repeated) escalates: every live group gets SIGKILL at
once and no grace runs on. Later signals change nothing more. The run
still terminalises either way: final.json ``canceled``, the lock
released, exit 3.

The receiver stays open from before the run takes its lock until after it
has released it, so no signal in between falls back to Python's default
handling (a ``KeyboardInterrupt`` mid-cleanup, or death by SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import trio

_WATCHED = (signal.SIGINT, signal.SIGTERM)


class Interruptible(Protocol):
    def interrupt(self, signal_name: str) -> None: ...

    def escalate(self, signal_name: str) -> None: ...


class RunSignals:
    """The signals a run received, delivered to the run once it is attached."""

    def __init__(self, watched: bool = False) -> None:
        self.received: list[str] = []
        self._run: Interruptible | None = None
        # Whether SIGINT and SIGTERM really reach the run (recorded in run.lock, so that
        # ``attractor stop`` signals no process to which SIGTERM would mean death).
        self.watched = watched

    def attach(self, run: Interruptible) -> None:
        """Deliver signals to ``run`` from now on, including any that came before it existed."""
        self._run = run
        for index, name in enumerate(self.received[:2]):
            self._deliver(index, name)

    def receive(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self._run is not None and len(self.received) <= 2:
            self._deliver(len(self.received) - 1, name)

    def _deliver(self, index: int, name: str) -> None:
        assert self._run is not None
        if index == 0:
            self._run.interrupt(name)
        else:
            self._run.escalate(name)


def can_watch_signals() -> bool:
    return threading.current_thread() is threading.main_thread()


@asynccontextmanager
async def watching_signals(enabled: bool = True) -> AsyncIterator[RunSignals]:
    """Catch SIGINT and SIGTERM for the block's duration (when ``enabled`` and on the main
    thread, where Python allows signal handlers); attach the run to the object yielded."""
    watched = enabled and can_watch_signals()
    signals = RunSignals(watched)
    if not watched:
        yield signals
        return
    failure: Exception | None = None
    with trio.open_signal_receiver(*_WATCHED) as receiver:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_forward, receiver, signals)
            try:
                yield signals
            except Exception as exc:
                # Re-raised bare below: the nursery would wrap it in an ExceptionGroup, and
                # callers must see an input error (ValidationError, UsageError) itself.
                failure = exc
            finally:
                nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure


async def _forward(receiver: AsyncIterator[int], signals: RunSignals) -> None:
    async for signum in receiver:
        signals.receive(signum)
