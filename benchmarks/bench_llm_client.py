"""LLM client overhead: one call through ``Client`` vs a bare httpx request, same fake server.

Run with ``python -m benchmarks llm_client``. The fake provider (tests/llm/
fake_server.py) runs on 127.0.0.1 in the same trio run, so both sides pay
the same server and loopback cost; the difference is what the client adds:
request translation, middleware and retry wrapper, SSE decoding into
unified events, accumulation, response parsing. Bare and client calls
alternate in small blocks so that machine load hits both alike. Reports
the median per call of each, their ratio and the median overhead.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx
import trio

from attractor_plugins.llm.client import Client
from attractor_plugins.llm.types import Message, Request
from tests.llm.fake_server import Reply, json_reply, running_fake_provider, wire_stream
from tests.llm.providers import complete_path, provider_setup, stream_path

CALLS = 300
BLOCK = 10
PROTOCOLS = ("openai_responses", "openai_chat", "anthropic", "gemini")
USAGE = {"input_tokens": 10, "output_tokens": 20}
TEXT = [f"word{i} " for i in range(20)]
REQUEST = Request(model="m", messages=[Message.system("Be brief."), Message.user("Say hi")])


async def _timed(call: Callable[[], Awaitable[Any]], samples: list[float]) -> None:
    start = time.perf_counter()
    await call()
    samples.append(time.perf_counter() - start)


async def _measure(bare: Callable[[], Awaitable[Any]], ours: Callable[[], Awaitable[Any]]
                   ) -> tuple[float, float]:
    for _ in range(BLOCK):  # warm-up: connections, imports, caches
        await bare()
        await ours()
    bare_s: list[float] = []
    ours_s: list[float] = []
    for _ in range(CALLS // BLOCK):
        for _ in range(BLOCK):
            await _timed(bare, bare_s)
        for _ in range(BLOCK):
            await _timed(ours, ours_s)
    return statistics.median(bare_s), statistics.median(ours_s)


async def _case(protocol: str, streaming: bool) -> tuple[float, float]:
    async with running_fake_provider() as fake, httpx.AsyncClient() as http:
        name, env, providers = provider_setup(protocol, fake.url)
        if streaming:
            fake.always(Reply(sse=wire_stream(protocol, TEXT, usage=USAGE)))
        else:
            fake.always(Reply(json=json_reply(protocol, "".join(TEXT), usage=USAGE)))
        path = (stream_path if streaming else complete_path)(protocol)
        url = f"{fake.url}{path}"
        body = {"model": "m", "input": "Say hi"}
        client = Client.from_env(env, {"llm": {"default_provider": name, "providers": providers}},
                                 http=http)

        async def bare() -> None:
            if streaming:
                async with http.stream("POST", url, json=body) as response:
                    async for _line in response.aiter_lines():
                        pass
            else:
                (await http.post(url, json=body)).json()

        async def ours() -> None:
            if streaming:
                async with aclosing(client.stream(REQUEST)) as events:
                    async for _event in events:
                        pass
            else:
                await client.complete(REQUEST)

        return await _measure(bare, ours)


async def _run() -> None:
    print(f"{'protocol':<17} {'mode':<8} {'bare µs':>8} {'client µs':>9} {'ratio':>6} "
          f"{'overhead µs':>11}")
    for protocol in PROTOCOLS:
        for streaming in (False, True):
            bare, ours = await _case(protocol, streaming)
            print(f"{protocol:<17} {'stream' if streaming else 'complete':<8} "
                  f"{bare * 1e6:8.0f} {ours * 1e6:9.0f} {ours / bare:6.2f} "
                  f"{(ours - bare) * 1e6:11.0f}", flush=True)


def main() -> None:
    trio.run(_run)


if __name__ == "__main__":
    main()
