"""The event bus: numbers events, adds the envelope and fans them out to sinks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attractor_core.protocols import EventSink
from attractor_core.runtime.clock import utc_now_iso
from attractor_core.runtime.events import Event
from attractor_core.runtime.serialization import CONVERTER

__all__ = ["EventBus", "utc_now_iso"]

Observer = Callable[[Mapping[str, Any]], None]

# Each event class's unstructure function, looked up once instead of dispatched per event
# (several events per stage).
_HOOKS: dict[type, Callable[[Any], dict[str, Any]]] = {}


class EventBus:
    """Delivers every event of one run to every sink, in strictly increasing ``seq``.

    ``first_seq`` lets a resumed run continue the numbering of its
    progress.ndjson. A sink that raises is closed and dropped with a note on
    the remaining sinks' stream rather than killing the run: losing a log
    line must never lose the run.
    """

    def __init__(self, run_id: str, sinks: Iterable[EventSink] = (), first_seq: int = 1):
        self.run_id = run_id
        self._sinks = list(sinks)
        self._seq = first_seq - 1
        self._observers: list[Observer] = []
        self._held: list[dict[str, Any]] | None = None  # events of a ``grouped`` block

    @property
    def last_seq(self) -> int:
        return self._seq

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def emit(self, event: Event) -> Mapping[str, Any]:
        self._seq += 1
        record: dict[str, Any] = {
            "event": event.name,
            "ts": utc_now_iso(),
            "run_id": self.run_id,
            "seq": self._seq,
        }
        cls = type(event)
        hook = _HOOKS.get(cls)
        if hook is None:
            hook = _HOOKS[cls] = CONVERTER.get_unstructure_hook(cls)
        record.update(hook(event))
        if self._held is not None:
            self._held.append(record)
            return record
        for sink in list(self._sinks):
            try:
                sink.emit(record)
            except Exception as exc:
                self._drop(sink, exc)
        for observer in self._observers:
            observer(record)
        return record

    def grouped(self) -> _Group:
        """``with bus.grouped():`` the events emitted in the block reach the sinks and
        observers when it ends, in order, together: a sink with ``emit_many`` takes them in
        one call (the progress file in one ``write``). Only for stretches of code that do not
        wait, so that nothing is held back from a live view for long. Numbers and timestamps
        are given at ``emit``; a nested block's events go with the outer block's."""
        return _Group(self)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        failed: list[tuple[EventSink, Exception]] = []
        for sink in self._sinks:
            emit_many = getattr(sink, "emit_many", None)
            try:
                if emit_many is not None:
                    emit_many(records)
                else:
                    for record in records:
                        sink.emit(record)
            except Exception as exc:
                failed.append((sink, exc))
        for record in records:
            for observer in self._observers:
                observer(record)
        for sink, error in failed:  # reported after the group, whose numbers came first
            self._drop(sink, error)

    def _drop(self, sink: EventSink, exc: Exception) -> None:
        self._sinks.remove(sink)
        self._close_quietly(sink)
        self._report_broken_sink(sink, exc)

    def close(self) -> None:
        for sink in self._sinks:
            self._close_quietly(sink)
        self._sinks.clear()

    def _report_broken_sink(self, sink: EventSink, exc: Exception) -> None:
        from attractor_core.runtime.events import Warning as WarningEvent

        self.emit(WarningEvent(message=f"event sink {type(sink).__name__} failed and was "
                                       f"dropped: {exc}"))

    @staticmethod
    def _close_quietly(sink: EventSink) -> None:
        with contextlib.suppress(Exception):  # already dropping this sink
            sink.close()


class _Group:
    """The ``with`` block of :meth:`EventBus.grouped` (a class: entered at every stage)."""

    __slots__ = ("_bus", "_outer")

    def __init__(self, bus: EventBus):
        self._bus = bus
        self._outer = False

    def __enter__(self) -> None:
        self._outer = self._bus._held is None
        if self._outer:
            self._bus._held = []

    def __exit__(self, *exc_info: object) -> None:
        if self._outer:
            held, self._bus._held = self._bus._held or [], None
            self._bus._deliver(held)
