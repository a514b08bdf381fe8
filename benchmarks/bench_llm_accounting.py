"""LLM accounting overhead: a streamed call through ``Client`` with and without accounting.

Run with ``python -m benchmarks llm_accounting``. For each protocol, three
kinds of call to the same fake provider on 127.0.0.1, alternating in small
blocks: a bare httpx stream (the floor), a ``Client.stream`` call (what the
``api`` backend makes for every LLM call), and the same call followed by
what the backend's accounting does for it (``StageSpend.before_call`` and
``after_call``: usage normalised, priced from the catalog, added to the
stage, node, model, provider and run totals, three run budgets and a node
budget checked). Reports the medians, the client's own overhead (client -
bare) and the accounting's share of it; and, measured alone in a tight loop
(no network noise), the accounting's cost per call.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import trio

from attractor_core.sdk import Node
from attractor_plugins.backends.spend import StageSpend
from attractor_plugins.llm.accounting import from_unified
from attractor_plugins.llm.budgets import Budgets, Limit
from attractor_plugins.llm.catalog import load_catalog
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.types import Message, Request, Response, StreamEventType, Usage
from tests.llm.fake_server import Reply, running_fake_provider, wire_stream
from tests.llm.providers import provider_setup, stream_path

CALLS = 300
BLOCK = 10
LOOP = 20_000
PROTOCOLS = ("openai_responses", "openai_chat", "anthropic", "gemini")
USAGE = {"openai_responses": {"input_tokens": 10, "output_tokens": 20},
         "openai_chat": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
         "anthropic": {"input_tokens": 10, "output_tokens": 20},
         "gemini": {"promptTokenCount": 10, "candidatesTokenCount": 20, "totalTokenCount": 30}}
TEXT = [f"word{i} " for i in range(20)]
MODEL = "gpt-5.2"  # in the catalog: every call is priced
BUDGETS = Budgets((Limit("max_cost_usd", 1e9, "command line"),
                   Limit("max_tokens", 1e12, "command line"),
                   Limit("max_llm_calls", 1e12, "command line")),
                  Limit("max_cost_usd", 1e9, "node attribute"))


class _Run:
    """The part of a stage run the accounting touches (its state, events, stage dir)."""

    def __init__(self, stage_dir: Path):
        self.stage_dir = stage_dir
        self.logs_root = stage_dir
        self.attempt = 1
        self._state: dict[str, Any] = {}

    def plugin_state(self, name: str) -> dict[str, Any]:
        return self._state.setdefault(name, {})

    def enclosing_plugin_states(self, name: str) -> list[dict[str, Any]]:
        return []

    def emit(self, event: Any) -> None:
        pass

    def stop_run(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("no budget is reached in this benchmark")


def _spend(stage_dir: Path, protocol: str) -> StageSpend:
    return StageSpend(Node("bench"), _Run(stage_dir), load_catalog(), BUDGETS,  # type: ignore[arg-type]
                      lambda provider: protocol)


async def _timed(call: Callable[[], Awaitable[Any]], samples: list[float]) -> None:
    start = time.perf_counter()
    await call()
    samples.append(time.perf_counter() - start)


async def _measure(*calls: Callable[[], Awaitable[Any]]) -> list[float]:
    for _ in range(BLOCK):  # warm-up: connections, imports, caches
        for call in calls:
            await call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(CALLS // BLOCK):
        for call, into in zip(calls, samples, strict=True):
            for _ in range(BLOCK):
                await _timed(call, into)
    return [statistics.median(s) for s in samples]


async def _case(protocol: str, stage_dir: Path) -> list[float]:
    async with running_fake_provider() as fake, httpx.AsyncClient() as http:
        name, env, providers = provider_setup(protocol, fake.url)
        fake.always(Reply(sse=wire_stream(protocol, TEXT, usage=USAGE[protocol])))
        url = f"{fake.url}{stream_path(protocol)}"
        client = Client.from_env(env, {"llm": {"default_provider": name, "providers": providers}},
                                 http=http)
        request = Request(model=MODEL, provider=name,
                          messages=[Message.system("Be brief."), Message.user("Say hi")])
        spend = _spend(stage_dir, protocol)

        async def bare() -> None:
            async with http.stream("POST", url, json={"model": MODEL}) as response:
                async for _line in response.aiter_lines():
                    pass

        async def streamed() -> Response:
            async with aclosing(client.stream(request)) as events:
                async for event in events:
                    if event.type == StreamEventType.FINISH and event.response is not None:
                        return event.response
            raise AssertionError("no finish event")

        async def accounted() -> None:
            await spend.before_call()
            response = await streamed()
            await spend.after_call(from_unified(name, MODEL, response.usage, protocol))

        return await _measure(bare, streamed, accounted)


async def _alone(protocol: str, stage_dir: Path) -> float:
    """The accounting of one call in a tight loop, µs (the usage as the adapter maps it)."""
    spend = _spend(stage_dir, protocol)
    usage = Usage(10, 20, 30, raw=USAGE[protocol])
    start = time.perf_counter()
    for _ in range(LOOP):
        await spend.before_call()
        await spend.after_call(from_unified("p", MODEL, usage, protocol))
    return (time.perf_counter() - start) / LOOP * 1e6


async def _run() -> None:
    print(f"{'protocol':<17} {'bare µs':>8} {'client µs':>9} {'+acct µs':>9} "
          f"{'client overhead µs':>18} {'acct µs':>8} {'acct/overhead':>13} "
          f"{'acct alone µs':>13} {'alone/overhead':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        for protocol in PROTOCOLS:
            bare, client, accounted = await _case(protocol, Path(scratch))
            alone = await _alone(protocol, Path(scratch))
            overhead = (client - bare) * 1e6
            acct = (accounted - client) * 1e6
            print(f"{protocol:<17} {bare * 1e6:8.0f} {client * 1e6:9.0f} "
                  f"{accounted * 1e6:9.0f} {overhead:18.0f} {acct:8.1f} "
                  f"{acct / overhead:12.1%} {alone:13.1f} {alone / overhead:13.1%}",
                  flush=True)


def main() -> None:
    trio.run(_run)


if __name__ == "__main__":
    main()
