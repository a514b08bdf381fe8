"""The SSE response of ``GET /pipelines/{id}/events``: a thin ASGI response over a Feed.

Every frame is encoded once, by the run's :class:`~.feed.Feed`; a client
only slices the feed's list and sends the frames it lacks as one chunk per
wakeup, straight to the ASGI ``send``. Nothing here runs per event and per
client: no JSON, no task group or timeout per write. A second task waits
for ``http.disconnect`` and cancels the writer. When the feed has had
nothing new for ``feed.PING_SECONDS`` it wakes its clients anyway, and each
sends a comment line, so that proxies and browsers keep the connection
open.
"""

from __future__ import annotations

import bisect
from typing import Any

import trio
from starlette.responses import Response

from .feed import Feed

PING = b": ping\r\n\r\n"
END = b'event: end\r\ndata: {"finished": true}\r\n\r\n'
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),  # nginx and similar proxies: do not buffer the stream
]


class EventStream(Response):
    """The frames of ``feed`` after seq ``after``: history first, then live, each once and
    in order; a last ``event: end`` frame once the run is over."""

    def __init__(self, feed: Feed, after: int):
        # No Response.__init__: it would declare a Content-Length for the empty body.
        self.status_code = 200
        self.raw_headers = list(HEADERS)
        self.background = None
        self.feed = feed
        self.after = after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        feed = self.feed
        ended: bool | None = None  # stays None when the client goes away first
        feed.clients += 1
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_until_disconnect, receive, nursery.cancel_scope)
                ended = await self._write(send)
                nursery.cancel_scope.cancel()
        finally:
            feed.clients -= 1
        if ended is not None:
            await send({"type": "http.response.body", "body": END if ended else b"",
                        "more_body": False})

    async def _write(self, send: Any) -> bool:
        """Send frames until the feed stops; True when the run is over (not just unwatched)."""
        feed = self.feed
        index = bisect.bisect_right(feed.seqs, self.after)
        while True:
            end = len(feed.frames)
            if index < end:
                await send({"type": "http.response.body", "body": feed.chunk(index, end),
                            "more_body": True})
                index = end
                continue
            if feed.stopped:
                return feed.finished
            await feed.changed()
            if index == len(feed.frames) and not feed.stopped:  # a keep-alive tick
                await send({"type": "http.response.body", "body": PING, "more_body": True})


async def _until_disconnect(receive: Any, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            scope.cancel()
            return
