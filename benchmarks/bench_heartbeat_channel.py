"""How a remote unit's heartbeats reach the parent: a touched file against Dask's channels.

One LocalCluster worker process sends ``BEATS`` heartbeats as fast as it can, once
through each channel, channels alternated over ``ROUNDS`` rounds:

- *file*: the worker touches ``executor.progress``; the parent polls its mtime (what the
  executor does, docs/distributed.md);
- *queue*: the worker ``put``s each beat on a ``distributed.Queue``; the parent ``get``s them;
- *events*: the worker ``log_event``s each beat; the parent counts them in a
  ``subscribe_topic`` handler.

(Dask's pub/sub is gone from ``distributed`` 2025 and later; these are what replaces it.)
The scheduler, which relays queue items and events, runs in the parent's process, as with
``dask-local``.

Reported per heartbeat: the worker's CPU to send it, the parent's CPU (process time,
scheduler included) to learn of it, and the wall time until the parent has seen the last
one. Needs ``distributed`` (``pip install -e './plugins[dask]'``).
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BEATS = 2000
ROUNDS = 3
TOPIC = "attractor-bench-heartbeat"


def _touch_beats(path: str, beats: int) -> float:
    """On the worker: touch ``path`` ``beats`` times; the thread's CPU seconds."""
    start = time.thread_time()
    target = Path(path)
    for _ in range(beats):
        target.touch()
    return time.thread_time() - start


def _queue_beats(beats: int) -> float:
    """On the worker: put ``beats`` items on the queue; the thread's CPU seconds."""
    from distributed import Queue

    queue = Queue(TOPIC)
    start = time.thread_time()
    for i in range(beats):
        queue.put(i)
    return time.thread_time() - start


def _event_beats(beats: int) -> float:
    """On the worker: log ``beats`` events; the thread's CPU seconds."""
    from distributed import get_worker

    worker = get_worker()
    start = time.thread_time()
    for i in range(beats):
        worker.log_event(TOPIC, i)
    return time.thread_time() - start


def _file_round(client: Any, folder: Path) -> tuple[float, float, float]:
    progress = folder / "executor.progress"
    progress.touch()
    seen = progress.stat().st_mtime_ns
    cpu, wall = time.process_time(), time.perf_counter()
    future = client.submit(_touch_beats, str(progress), BEATS, pure=False)
    while not future.done():  # every millisecond: far more often than the executor polls
        seen = max(seen, progress.stat().st_mtime_ns)
        time.sleep(0.001)
    worker_cpu = future.result()
    return worker_cpu / BEATS, (time.process_time() - cpu) / BEATS, time.perf_counter() - wall


def _queue_round(client: Any) -> tuple[float, float, float]:
    from distributed import Queue

    queue = Queue(TOPIC, client=client)
    cpu, wall = time.process_time(), time.perf_counter()
    future = client.submit(_queue_beats, BEATS, pure=False)
    for _ in range(BEATS):
        queue.get(timeout=60)
    worker_cpu = future.result()
    return worker_cpu / BEATS, (time.process_time() - cpu) / BEATS, time.perf_counter() - wall


def _events_round(client: Any) -> tuple[float, float, float]:
    seen = threading.Semaphore(0)
    client.subscribe_topic(TOPIC, lambda _event: seen.release())
    cpu, wall = time.process_time(), time.perf_counter()
    future = client.submit(_event_beats, BEATS, pure=False)
    for _ in range(BEATS):
        if not seen.acquire(timeout=60):
            raise SystemExit("the events stopped arriving")
    worker_cpu = future.result()
    client.unsubscribe_topic(TOPIC)
    return worker_cpu / BEATS, (time.process_time() - cpu) / BEATS, time.perf_counter() - wall


def main() -> None:
    import distributed

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster, set_as_default=False)
    results: dict[str, list[tuple[float, float, float]]] = {"file": [], "queue": [], "events": []}
    try:
        client.submit(_touch_beats, os.devnull, 1, pure=False).result()  # warm the worker
        with tempfile.TemporaryDirectory(prefix="attractor-bench-hb-") as tmp:
            for _ in range(ROUNDS):
                results["file"].append(_file_round(client, Path(tmp)))
                results["queue"].append(_queue_round(client))
                results["events"].append(_events_round(client))
    finally:
        client.close()
        cluster.close()
    print(f"{BEATS} heartbeats per round, {ROUNDS} rounds alternated; medians per heartbeat; "
          f"load average {os.getloadavg()[0]:.1f}")
    medians = {}
    for channel, rounds in results.items():
        worker, parent, wall = (statistics.median(r[i] for r in rounds) for i in range(3))
        medians[channel] = worker + parent
        print(f"  {channel:8} worker {worker * 1e6:7.1f} µs CPU, parent {parent * 1e6:7.1f} µs "
              f"CPU, all seen after {wall:.2f} s")
    for channel in ("queue", "events"):
        print(f"  {channel} costs {medians[channel] / medians['file']:.1f}x the file's CPU "
              "per heartbeat (worker + parent)")
