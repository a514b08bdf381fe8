"""SIGINT and SIGTERM become a run cancellation, never an abrupt exit."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import trio


def can_watch_signals() -> bool:
    return threading.current_thread() is threading.main_thread()


async def watch_signals(cancel: Callable[[str], None]) -> None:
    """Call ``cancel`` with a reason on the first SIGINT or SIGTERM; runs until cancelled."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            cancel(f"stopped by signal {signal.Signals(signum).name}")
