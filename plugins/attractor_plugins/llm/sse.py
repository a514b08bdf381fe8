"""Server-Sent Events decoding (unified-llm-spec §7.7 "SSE Parsing").

Handles ``event:``, multi-line ``data:``, ``id:``, ``retry:``, comment lines
and blank-line boundaries. The decoder is fed one line at a time (without
its line ending) so it can sit behind any line source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from attrs import frozen


@frozen
class SseEvent:
    event: str
    data: str
    id: str = ""
    retry_ms: int | None = None


class SseDecoder:
    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None

    def feed(self, line: str) -> SseEvent | None:
        """Take one line; return the event it completes, if any."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def flush(self) -> SseEvent | None:
        """The last event of a stream that ended without a blank line."""
        return self._dispatch()

    def _dispatch(self) -> SseEvent | None:
        if not self._data and not self._event:
            return None
        event = SseEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event, self._data, self._retry = "", [], None
        return event


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    decoder = SseDecoder()
    async for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
