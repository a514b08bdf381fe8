"""Live event streams: one reader per run tails progress.ndjson, every client shares it.

A :class:`Feed` keeps the run's events in memory as it reads them, each
already encoded as its SSE frame (``id: SEQ`` and the raw JSON line as
``data``), so that any number of clients are served from one file reader
and one encoding: a client starts from any ``seq`` (``Last-Event-ID``) and
sees history, then live events, each once and in order. A client that is
behind gets every frame it lacks in one write.

The reader is also the clients' clock: it reads the file and wakes the
clients once per interval, 50 ms with up to 10 clients, growing with their
number to 250 ms at 50 clients and more. A client writes at most once per
wakeup, so 200 clients on a busy run cost about 800 writes a second rather
than one per event and client, and a page sees an event at most about a
quarter second late. The reader stops once the run has ended (final.json
exists and the file is read to its end) or when no client has listened for
a while.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import trio

from attractor_core.sdk import RunLock

POLL_SECONDS = 0.05  # the interval with few clients
MAX_POLL_SECONDS = 0.25  # the interval with many: the most a page waits for an event
SECONDS_PER_CLIENT = 0.005  # the interval grows with the clients between the two
IDLE_SECONDS = 30.0  # a reader nobody listens to stops after this long
PING_SECONDS = 15.0  # clients are woken at least this often, to send a keep-alive


class Feed:
    def __init__(self, run_dir: Path):
        self.progress = run_dir / "progress.ndjson"
        self.final = run_dir / "final.json"
        self.lock = run_dir / "run.lock"
        self.frames: list[bytes] = []
        self.seqs: list[int] = []
        self.finished = False
        self.stopped = False
        self.clients = 0
        self._offset = 0
        self._partial = b""
        self._changed = trio.Event()
        self._woken_at = 0.0
        self._chunk: tuple[int, int, bytes] = (0, 0, b"")

    def interval(self) -> float:
        """Seconds between two reads of the file (and two wakeups of the clients)."""
        return min(MAX_POLL_SECONDS, max(POLL_SECONDS, self.clients * SECONDS_PER_CLIENT))

    def chunk(self, start: int, end: int) -> bytes:
        """Frames ``start:end`` as one chunk; the clients woken together ask for the same
        range, so the last one is kept and joined once."""
        cached_start, cached_end, data = self._chunk
        if (cached_start, cached_end) != (start, end):
            data = b"".join(self.frames[start:end])
            self._chunk = (start, end, data)
        return data

    async def changed(self) -> None:
        """Returns once frames were added, the reader stopped, or ``PING_SECONDS`` went by
        without either (then nothing changed: a client sends a keep-alive)."""
        await self._changed.wait()

    def poll(self) -> None:
        """Read what was appended since the last call; complete lines only."""
        try:
            fd = os.open(self.progress, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            size = os.fstat(fd).st_size
            if size < self._offset:  # cut back (a torn tail removed on resume)
                self._offset = size
                self._partial = b""
            chunks = []
            while self._offset < size:
                chunk = os.pread(fd, min(size - self._offset, 1 << 20), self._offset)
                if not chunk:
                    break
                self._offset += len(chunk)
                chunks.append(chunk)
        finally:
            os.close(fd)
        if not chunks:
            return
        data = self._partial + b"".join(chunks)
        *complete, self._partial = data.split(b"\n")
        added = False
        for raw in complete:
            try:
                seq = int(json.loads(raw)["seq"])
            except (ValueError, KeyError, TypeError):
                continue
            if self.seqs and seq <= self.seqs[-1]:
                continue
            self.frames.append(b"id: %d\r\ndata: %s\r\n\r\n" % (seq, raw))
            self.seqs.append(seq)
            added = True
        if added:
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        self._woken_at = trio.current_time()

    def ended(self) -> bool:
        """final.json is written before the run's last events: the run is over once its
        process has also let go of the run lock (its sinks are closed by then)."""
        return self.final.exists() and not RunLock(self.lock, "").owner_alive()

    async def follow(self) -> None:
        """Tail the file until the run ends or nobody listens."""
        idle_since = trio.current_time()
        try:
            while True:
                ended = self.ended()
                self.poll()
                if ended:
                    self.finished = True
                    return
                if self.clients:
                    idle_since = trio.current_time()
                elif trio.current_time() - idle_since > IDLE_SECONDS:
                    return
                if trio.current_time() - self._woken_at >= PING_SECONDS:
                    self._wake()
                await trio.sleep(self.interval())
        finally:
            self.stopped = True
            self._wake()


class Feeds:
    """The feeds of the runs being watched, their readers in the server's nursery."""

    def __init__(self, nursery: trio.Nursery):
        self._nursery = nursery
        self._feeds: dict[Path, Feed] = {}

    def get(self, run_dir: Path) -> Feed:
        feed = self._feeds.get(run_dir)
        if feed is None or (feed.stopped and not feed.finished):
            feed = Feed(run_dir)
            feed.poll()
            self._feeds[run_dir] = feed
            self._nursery.start_soon(self._follow, run_dir, feed)
        return feed

    async def _follow(self, run_dir: Path, feed: Feed) -> None:
        await feed.follow()
        # A finished feed stays while someone reads it; a later resume starts a new one.
        while feed.clients:
            await trio.sleep(1.0)
        if self._feeds.get(run_dir) is feed:
            del self._feeds[run_dir]
