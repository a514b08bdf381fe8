"""LLM accounting overhead: the ``api`` backend's call path with and without accounting.

Run with ``python -m benchmarks llm_accounting``. For each protocol, four
kinds of call to the same fake provider on 127.0.0.1 (in this process's event
loop):

* ``bare``: an httpx stream of the same answer (the floor);
* ``client``: ``LlmCaller.complete``, the backend's call path (failover loop,
  call controls, the streamed ``Client`` call, the output meter), without
  accounting (``spend=None``);
* ``again``: the same as ``client``, through a second caller: the control,
  whose difference from ``client`` shows what the method measures as a
  difference between two identical things (it should be about 0);
* ``+acct``: ``LlmCaller.complete`` on the same client with a ``StageSpend``
  (what the backend does for every call: whether the budgets need a check
  before the call, usage normalised, priced from the catalog, added to the
  node's and the run's totals, three run budgets and a node budget compared
  after it).

Each round makes one call of each kind, in a random order (the same every
run), so every kind follows the same mix of kinds (an LLM call in a run
follows other work: the accounting's code is not warm from a call just
before) and the calls compared are milliseconds apart. Each call is timed twice: wall
time, and the CPU time of the thread (the client and the fake server both run
in it), which a loaded machine does not inflate with time spent waiting for
a core. Reported on both clocks: the median of each kind, the client's own
overhead (client - bare), and the differences ``again - client`` (control)
and ``+acct - client``, each the median of the differences within a round
(paired: slow drifts of the host cancel out), as a share of the overhead,
each with its 95% confidence interval; and, measured alone in a tight loop
(no network, warm caches), the accounting's cost per call. A call's CPU time
varies by about ±100 µs from one call to the next, so the interval narrows
only with many rounds (``ATTRACTOR_BENCH_CALLS``, 6,000 by default: about
±5 µs). The rounds are shared among ``ATTRACTOR_BENCH_PROCESSES`` fresh
processes (6 by default), each with its own hash seed and order of rounds:
within one process, where objects and code land in memory moves one kind
against another by several µs (two identical callers differed by up to
9 µs), which pooling several processes averages out. On a loaded machine
compare the ``cpu`` rows, and trust a difference only where the control's
interval holds 0.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing

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

CALLS = int(os.environ.get("ATTRACTOR_BENCH_CALLS", "6000"))
PROCESSES = int(os.environ.get("ATTRACTOR_BENCH_PROCESSES", "6"))
WARM_UP = 20
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


class _Services:
    """What the engine reads for the run tree's plugin states: a run with no sub-run."""

    def __init__(self) -> None:
        self.enclosing_plugin_state: tuple[dict[str, Any], ...] = ()
        self.running_sub_runs: dict[str, dict[str, Any]] = {}


class _Run:
    """The part of a stage run the call path touches (its state, events, stage dir)."""

    def __init__(self, stage_dir: Path):
        self.stage_dir = stage_dir
        self.logs_root = stage_dir
        self.attempt = 1
        self._state: dict[str, Any] = {}
        self._services = _Services()

    def plugin_state(self, name: str) -> dict[str, Any]:
        return self._state.setdefault(name, {})

    def enclosing_plugin_states(self, name: str) -> list[dict[str, Any]]:
        services = self._services  # what the engine's reads for a top-level run
        if not services.enclosing_plugin_state and not services.running_sub_runs:
            return []
        raise AssertionError("the benchmark's run has no sub-run")

    def emit(self, event: Any) -> None:
        pass

    def stop_run(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("no budget is reached in this benchmark")


def _spend(run: _Run, protocol: str, budgets: Budgets) -> StageSpend:
    return StageSpend(Node("bench"), run, load_catalog(), budgets,  # type: ignore[arg-type]
                      lambda provider: protocol)


def _caller(client: Client, name: str, run: _Run, spend: StageSpend | None) -> LlmCaller:
    return LlmCaller(client, NoFailover(), Target(name, MODEL), node_id="bench",
                     run=run, reason="bench", on_output=lambda n: None,  # type: ignore[arg-type]
                     spend=spend)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Wall and CPU time of one call. Then, untimed, what the call left to the event loop
    runs out (the fake server finishing its side of the exchange), so that no call pays for
    the one before."""
    w, c = time.perf_counter(), time.thread_time()
    await call()
    cpu = time.thread_time() - c
    wall = time.perf_counter() - w
    await trio.testing.wait_all_tasks_blocked()
    return wall, cpu


async def _measure(rounds: int, seed: int,
                   *calls: Callable[[], Awaitable[Any]]) -> list[list[tuple[float, float]]]:
    """(wall, CPU) of every call of each kind, one of each per round, in a random order
    each round (seeded): what runs before a call (its code warm or cold in the CPU caches)
    is the same mix for every kind."""
    for _ in range(WARM_UP):  # connections, imports, caches
        for call in calls:
            await _timed(call)
    times: list[list[tuple[float, float]]] = [[] for _ in calls]
    order = list(range(len(calls)))
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for i in order:
            times[i].append(await _timed(calls[i]))
    return times


def _paired(a: list[tuple[float, float]], b: list[tuple[float, float]],
            clock: int) -> tuple[float, float, float]:
    """The median of the differences b - a within a round, in µs, and its 95% confidence
    interval (distribution-free: the order statistics n/2 -+ 1.96 sqrt(n)/2)."""
    diffs = sorted((y[clock] - x[clock]) * 1e6 for x, y in zip(a, b, strict=True))
    n = len(diffs)
    half = 1.96 * math.sqrt(n) / 2
    low, high = max(math.floor(n / 2 - half), 0), min(math.ceil(n / 2 + half), n - 1)
    return statistics.median(diffs), diffs[low], diffs[high]


async def _case(protocol: str, stage_dir: Path, rounds: int,
                seed: int) -> list[list[tuple[float, float]]]:
    # Two connection pools: the bare stream keeps its own connection, and the client's
    # calls share theirs (the client reads a stream to its end after the finish event, so
    # its connection goes back to the pool: one connection for all its calls).
    async with running_fake_provider() as fake, httpx.AsyncClient() as http, \
            httpx.AsyncClient() as bare_http:
        name, env, providers = provider_setup(protocol, fake.url)
        fake.always(Reply(sse=wire_stream(protocol, TEXT, usage=USAGE[protocol])))
        url = f"{fake.url}{stream_path(protocol)}"
        client = Client.from_env(env, {"llm": {"default_provider": name, "providers": providers}},
                                 http=http)
        request = Request(model=MODEL, provider=name,
                          messages=[Message.system("Be brief."), Message.user("Say hi")])
        run = _Run(stage_dir)
        plain = _caller(client, name, run, None)
        control = _caller(client, name, run, None)
        # Each accounted kind keeps the accounts of a run of its own, as a stage does.
        accounted = _caller(client, name, run, _spend(_Run(stage_dir), protocol, Budgets()))
        budgeted = _caller(client, name, run, _spend(_Run(stage_dir), protocol, BUDGETS))

        # Every kind forgets the requests the fake keeps (~40 objects a call), which would
        # otherwise grow the heap and make the collector's full passes ever longer.
        async def bare() -> None:
            fake.requests.clear()
            async with bare_http.stream("POST", url, json={"model": MODEL}) as response:
                async for _line in response.aiter_lines():
                    pass

        async def without() -> None:
            fake.requests.clear()
            await plain.complete(request)

        async def again() -> None:
            fake.requests.clear()
            await control.complete(request)

        async def with_accounting() -> None:
            fake.requests.clear()
            await accounted.complete(request)

        async def with_budgets() -> None:
            fake.requests.clear()
            await budgeted.complete(request)

        return await _measure(rounds, seed, bare, without, again, with_accounting,
                              with_budgets)


async def _alone(protocol: str, stage_dir: Path, budgets: Budgets) -> tuple[float, float]:
    """The accounting of one call in a tight loop, µs of wall and of CPU time (the usage as
    the adapter maps it)."""
    spend = _spend(_Run(stage_dir), protocol, budgets)
    usage = Usage(10, 20, 30, raw=USAGE[protocol])
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(LOOP):
        if spend.checked and not spend.quiet():  # what the backend's call path does
            await spend.before_call()
        if not spend.record_usage("p", MODEL, usage):
            await spend.check_budgets()
    return ((time.perf_counter() - wall) / LOOP * 1e6,
            (time.thread_time() - cpu) / LOOP * 1e6)


def _run() -> None:
    rounds = -(-CALLS // PROCESSES)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {rounds * PROCESSES} "
          f"calls of each kind per protocol in {PROCESSES} processes; differences from the "
          f"client: paired medians [95% CI], in µs and as a share of the client's overhead; "
          f"alone: µs a call in a tight loop")
    print(f"{'protocol':<17} {'clock':<5} {'bare µs':>8} {'client µs':>9} {'overhead':>8} "
          f"{'control':>28} {'+acct':>28} {'+acct+budgets':>28} {'alone':>9}")
    worst = [0.0, 0.0]
    for protocol in PROTOCOLS:
        kinds: list[list[tuple[float, float]]] = [[] for _ in range(5)]
        alone: list[list[float]] = [[], []]
        for index in range(PROCESSES):
            times, alones = _in_a_process(protocol, rounds, index)
            for pooled, more in zip(kinds, times, strict=True):
                pooled.extend((wall, cpu) for wall, cpu in more)
            for pooled_alone, one in zip(alone, alones, strict=True):
                pooled_alone.append(one)
        bare, client, again, accounted, budgeted = kinds
        for clock, k in (("wall", 0), ("cpu", 1)):
            floor = statistics.median(t[k] for t in bare) * 1e6
            plain = statistics.median(t[k] for t in client) * 1e6
            overhead = plain - floor
            shown = [_paired(client, kind, k) for kind in (again, accounted, budgeted)]
            if clock == "cpu":
                worst = [max(w, d[2] / overhead) for w, d in zip(worst, shown[1:], strict=True)]
            lone = [statistics.median(a[k] for a in kind_alone) for kind_alone in alone]
            print(f"{protocol:<17} {clock:<5} {floor:8.0f} {plain:9.0f} {overhead:8.0f} "
                  + " ".join(f"{_shown(d, overhead):>28}" for d in shown)
                  + f" {lone[0]:4.1f}/{lone[1]:4.1f}", flush=True)
    print(f"cpu clock, the upper 95% bound of the share: accounting at most {worst[0]:.1%}, "
          f"with four budgets at most {worst[1]:.1%}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _in_a_process(protocol: str, rounds: int, index: int) -> tuple[Any, Any]:
    """One worker's (wall, CPU) times of each kind and its accounting alone. Each worker is
    a fresh process with its own hash seed and order of rounds: where its objects and code
    land in memory, and so what collides in the CPU caches, differs from one to the next
    (in one process, two identical callers measured up to ±9 µs apart)."""
    env = {**os.environ, "PYTHONHASHSEED": str(index)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_llm_accounting", protocol, str(rounds),
         str(index)], cwd=Path(__file__).resolve().parents[1], env=env, check=True,
        capture_output=True, text=True)
    result = json.loads(done.stdout)
    return result["times"], result["alone"]


async def _worker(protocol: str, rounds: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        times = await _case(protocol, Path(scratch), rounds, seed)
        alone = [await _alone(protocol, Path(scratch), budgets) for budgets in (Budgets(), BUDGETS)]
    return {"times": times, "alone": alone}


def _shown(difference: tuple[float, float, float], overhead: float) -> str:
    median, low, high = difference
    return (f"{median:+.1f} [{low:+.0f},{high:+.0f}] {median / overhead:+.1%} "
            f"[{low / overhead:+.1%},{high / overhead:+.1%}]")


def main() -> None:
    _run()


if __name__ == "__main__":  # a worker: PROTOCOL ROUNDS SEED, its times as JSON on stdout
    print(json.dumps(trio.run(_worker, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
