"""Running the app: hypercorn's trio worker in a nursery that also holds the runs and feeds."""

from __future__ import annotations

import signal
import sys
from typing import Any

import trio

from .app import Server, Settings, create_app
from .cluster import open_cluster
from .security import Guard

GRACEFUL_SECONDS = 2.0


async def serve_forever(settings: Settings, *,
                        task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until SIGINT or SIGTERM; runs the server started are canceled (resumable)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{settings.port}"]
    config.accesslog = None
    config.graceful_timeout = GRACEFUL_SECONDS
    stop = trio.Event()
    async with open_cluster(settings.executor) as cluster, trio.open_nursery() as nursery:
        server = Server(settings, nursery, cluster)
        app = Guard(create_app(server), token=settings.token, bind_host=settings.host,
                    max_body=settings.max_body)
        nursery.start_soon(_stop_on_signal, stop)
        served = trio.Event()
        urls = await nursery.start(_serve_app, serve, app, config, stop, served)
        url = urls[0] if urls else f"http://{host}:{settings.port}"
        sys.stdout.write(f"serving {settings.runs_root} on {url}\n")
        if cluster is not None:
            sys.stdout.write(f"runs run on Dask workers of {settings.executor}\n")
        sys.stdout.flush()
        task_status.started(url)
        await stop.wait()
        with trio.move_on_after(GRACEFUL_SECONDS * 2):
            await served.wait()
        # The runs this server started are canceled now (SIGTERM; they end resumable).
        nursery.cancel_scope.cancel()


async def _serve_app(serve: Any, app: Any, config: Any, stop: trio.Event, served: trio.Event,
                     *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
                     ) -> None:
    try:
        await serve(app, config, shutdown_trigger=stop.wait, task_status=task_status)
    finally:
        served.set()


async def _stop_on_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stop.set()
            return
