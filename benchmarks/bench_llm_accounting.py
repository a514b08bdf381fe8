"""LLM accounting overhead: the ``api`` backend's call path with and without accounting.

Run with ``python -m benchmarks llm_accounting``. For each protocol, three
kinds of call to the same fake provider on 127.0.0.1 (in this process's event
loop), alternating in small blocks whose order flips each round (A B, B A):

* ``bare``: an httpx stream of the same answer (the floor);
* ``client``: ``LlmCaller.complete``, the backend's call path (failover loop,
  call controls, the streamed ``Client`` call, the output meter), without
  accounting (``spend=None``);
* ``+acct``: the same ``LlmCaller.complete`` on the same client with a
  ``StageSpend`` (what the backend does for every call: budgets checked
  before the call, usage normalised, priced from the catalog, added to the
  stage, node, model, provider and run totals, three run budgets and a node
  budget checked after it).

Each call is timed twice: wall time, and the CPU time of the thread (the
client and the fake server both run in it), which a loaded machine does not
inflate with time spent waiting for a core. Reported: medians, the client's
own overhead (client - bare) and the accounting's share of it, on both
clocks; and, measured alone in a tight loop (no network, on both clocks), the
accounting's cost per call. On a loaded machine compare the ``cpu`` rows.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio

from attractor_core.sdk import Node
from attractor_plugins.backends.llm_caller import LlmCaller
from attractor_plugins.backends.spend import StageSpend
from attractor_plugins.llm.budgets import Budgets, Limit
from attractor_plugins.llm.catalog import load_catalog
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.failover import NoFailover, Target
from attractor_plugins.llm.types import Message, Request, Usage
from tests.llm.fake_server import Reply, running_fake_provider, wire_stream
from tests.llm.providers import provider_setup, stream_path

CALLS = int(os.environ.get("ATTRACTOR_BENCH_CALLS", "600"))
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
    """The part of a stage run the call path touches (its state, events, stage dir)."""

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


def _spend(run: _Run, protocol: str) -> StageSpend:
    return StageSpend(Node("bench"), run, load_catalog(), BUDGETS,  # type: ignore[arg-type]
                      lambda provider: protocol)


def _caller(client: Client, name: str, run: _Run, spend: StageSpend | None) -> LlmCaller:
    return LlmCaller(client, NoFailover(), Target(name, MODEL), node_id="bench",
                     run=run, reason="bench", on_output=lambda n: None,  # type: ignore[arg-type]
                     spend=spend)


async def _timed(call: Callable[[], Awaitable[Any]], wall: list[float],
                 cpu: list[float]) -> None:
    w, c = time.perf_counter(), time.thread_time()
    await call()
    cpu.append(time.thread_time() - c)
    wall.append(time.perf_counter() - w)


async def _measure(*calls: Callable[[], Awaitable[Any]]) -> list[tuple[float, float]]:
    """(median wall, median CPU) of each call, in blocks whose order flips every round."""
    for _ in range(BLOCK):  # warm-up: connections, imports, caches
        for call in calls:
            await call()
    wall: list[list[float]] = [[] for _ in calls]
    cpu: list[list[float]] = [[] for _ in calls]
    order = list(range(len(calls)))
    for _ in range(CALLS // BLOCK):
        for i in order:
            for _ in range(BLOCK):
                await _timed(calls[i], wall[i], cpu[i])
        order.reverse()
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu, strict=True)]


async def _case(protocol: str, stage_dir: Path) -> list[tuple[float, float]]:
    async with running_fake_provider() as fake, httpx.AsyncClient() as http:
        name, env, providers = provider_setup(protocol, fake.url)
        fake.always(Reply(sse=wire_stream(protocol, TEXT, usage=USAGE[protocol])))
        url = f"{fake.url}{stream_path(protocol)}"
        client = Client.from_env(env, {"llm": {"default_provider": name, "providers": providers}},
                                 http=http)
        request = Request(model=MODEL, provider=name,
                          messages=[Message.system("Be brief."), Message.user("Say hi")])
        run = _Run(stage_dir)
        plain = _caller(client, name, run, None)
        accounted = _caller(client, name, run, _spend(run, protocol))

        # Every kind forgets the requests the fake keeps (~40 objects a call), which would
        # otherwise grow the heap and make the collector's full passes ever longer.
        async def bare() -> None:
            fake.requests.clear()
            async with http.stream("POST", url, json={"model": MODEL}) as response:
                async for _line in response.aiter_lines():
                    pass

        async def without() -> None:
            fake.requests.clear()
            await plain.complete(request)

        async def with_accounting() -> None:
            fake.requests.clear()
            await accounted.complete(request)

        return await _measure(bare, without, with_accounting)


async def _alone(protocol: str, stage_dir: Path) -> tuple[float, float]:
    """The accounting of one call in a tight loop, µs of wall and of CPU time (the usage as
    the adapter maps it)."""
    spend = _spend(_Run(stage_dir), protocol)
    usage = Usage(10, 20, 30, raw=USAGE[protocol])
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(LOOP):
        await spend.before_call()
        await spend.after_usage("p", MODEL, usage)
    return ((time.perf_counter() - wall) / LOOP * 1e6,
            (time.thread_time() - cpu) / LOOP * 1e6)


async def _run() -> None:
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {CALLS} calls of "
          f"each kind per protocol")
    print(f"{'protocol':<17} {'clock':<5} {'bare µs':>8} {'client µs':>9} {'+acct µs':>9} "
          f"{'overhead µs':>11} {'acct µs':>8} {'acct/overhead':>13} {'alone µs':>9} "
          f"{'alone/overhead':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        for protocol in PROTOCOLS:
            measured = await _case(protocol, Path(scratch))
            alones = await _alone(protocol, Path(scratch))
            for clock, k in (("wall", 0), ("cpu", 1)):
                bare, client, accounted = (m[k] for m in measured)
                alone = alones[k]
                overhead = (client - bare) * 1e6
                acct = (accounted - client) * 1e6
                print(f"{protocol:<17} {clock:<5} {bare * 1e6:8.0f} {client * 1e6:9.0f} "
                      f"{accounted * 1e6:9.0f} {overhead:11.0f} {acct:8.1f} "
                      f"{acct / overhead:12.1%} {alone:9.1f} {alone / overhead:13.1%}",
                      flush=True)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    trio.run(_run)


if __name__ == "__main__":
    main()
