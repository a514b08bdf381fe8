"""Events emitted as a group (``EventBus.grouped``) reach every sink as separate events
would: same numbers, order and content, a broken sink dropped with a warning after them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attractor_core.runtime.event_bus import EventBus
from attractor_core.runtime.events import Warning
from attractor_core.sdk import read_events
from attractor_plugins.sinks.progress_ndjson import ProgressNdjsonSink


class OneByOne:
    def __init__(self) -> None:
        self.seen: list[Mapping[str, Any]] = []

    def emit(self, event: Mapping[str, Any]) -> None:
        self.seen.append(event)

    def close(self) -> None:
        pass


class BrokenGroups(OneByOne):
    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk on fire")


def test_a_group_reaches_every_sink_in_order_and_a_failing_sink_is_dropped_after_it(
        tmp_path: Path) -> None:
    plain, broken = OneByOne(), BrokenGroups()
    progress = ProgressNdjsonSink(tmp_path)
    bus = EventBus("r1", [progress, broken, plain])
    observed: list[Mapping[str, Any]] = []
    bus.subscribe(observed.append)
    bus.emit(Warning("before"))
    with bus.grouped():
        bus.emit(Warning("one"))
        with bus.grouped():  # nested: delivered with the outer group
            bus.emit(Warning("two"))
        assert [e["message"] for e in plain.seen] == ["before"]  # held until the block ends
    bus.emit(Warning("after"))
    bus.close()
    expected = ["before", "one", "two"]
    dropped = "event sink BrokenGroups failed and was dropped: disk on fire"
    assert [e["message"] for e in plain.seen] == [*expected, dropped, "after"]
    assert [e["seq"] for e in plain.seen] == [1, 2, 3, 4, 5]
    assert [e["message"] for e in observed] == [*expected, dropped, "after"]
    written = read_events(tmp_path / "progress.ndjson")
    assert [(e["seq"], e["message"]) for e in written] == [
        (e["seq"], e["message"]) for e in plain.seen]
    assert [e["message"] for e in broken.seen] == ["before"]
