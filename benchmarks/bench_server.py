"""``python -m benchmarks server``: 200 SSE clients on one 1,000-stage simulate run.

An ``attractor serve`` process starts the runs; this process plays the
clients (raw sockets under trio). For each round it runs the pipeline once
with no client and once with 200 clients attached from the start, 50 of
which drop their connection every 500 events and resume with
``Last-Event-ID`` (a reconnect storm). It checks that every client got
every event of progress.ndjson exactly once, in order, and reports the
engine's per-stage cost (final.json ``duration_ms`` / stages) with and
without the clients, side by side, rounds interleaved, and the CPU seconds
the server and the clients spent per watched run.

Real clients run on other machines; here they share the server's cores, so
this process lowers its own CPU priority (``nice``, 10 unless
``ATTRACTOR_BENCH_CLIENT_NICE`` says otherwise) after starting the server:
the clients then take what the server and the run leave over instead of
competing with the run they watch. ``ATTRACTOR_BENCH_ROUNDS`` sets the
number of rounds (4).
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = 1000
CLIENTS = 200
RECONNECTING = 50
DROP_EVERY = 500
ROUNDS = int(os.environ.get("ATTRACTOR_BENCH_ROUNDS", "4"))
CLIENT_NICE = int(os.environ.get("ATTRACTOR_BENCH_CLIENT_NICE", "10"))
ID_LINE = re.compile(rb"(?m)^id: (\d+)\r$")


def pipeline(stages: int) -> str:
    names = [f"s{i}" for i in range(stages)]
    nodes = "\n".join(f'  {n} [shape=box, prompt="step {n}"]' for n in names)
    return ("digraph Load {\n  start [shape=Mdiamond]\n  done [shape=Msquare]\n" + nodes
            + "\n  start -> " + " -> ".join(names) + " -> done\n}\n")


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "attractor_core", "serve", "--runs-root", str(root / "runs"),
         "--port", "0", "--workdir", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=root)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


async def client_task(host: str, port: int, run_id: str, reconnects: bool,
                      received: list[int]) -> None:
    """Read the run's stream to its end over a plain socket (the load generator must cost
    little CPU next to the server it measures); a reconnecting client drops the connection
    every DROP_EVERY events and resumes after the last id it saw."""
    import trio

    while True:
        resume = f"Last-Event-ID: {received[-1]}\r\n" if received else ""
        request = (f"GET /pipelines/{run_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Accept: text/event-stream\r\n{resume}\r\n").encode()
        connected_at = len(received)
        ended = False
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(request)
            pending = b""
            while True:
                chunk = await stream.receive_some(1 << 16)
                if not chunk:
                    break
                data = pending + chunk
                cut = data.rfind(b"\n\r\n")
                if cut < 0:
                    pending = data
                    continue
                complete, pending = data[:cut + 3], data[cut + 3:]
                received.extend(int(m) for m in ID_LINE.findall(complete))
                if b"event: end" in complete:
                    ended = True
                    break
                if reconnects and len(received) - connected_at >= DROP_EVERY:
                    break  # drop the connection; the loop resumes after the last id
        if ended:
            return


async def attach(url: str, run_id: str, clients: int) -> list[list[int]]:
    import trio

    host, port = url.removeprefix("http://").rsplit(":", 1)
    received: list[list[int]] = [[] for _ in range(clients)]
    async with trio.open_nursery() as nursery:
        for i in range(clients):
            nursery.start_soon(client_task, host, int(port), run_id, i < RECONNECTING,
                               received[i])
    return received


def start_run(url: str, dot: str) -> str:
    import httpx

    response = httpx.post(f"{url}/pipelines", json={"dot": dot, "interviewer": "auto"},
                          timeout=120)
    response.raise_for_status()
    run_id: str = response.json()["id"]
    return run_id


def wait_final(root: Path, run_id: str) -> dict[str, Any]:
    final = root / "runs" / run_id / "final.json"
    while not final.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    record: dict[str, Any] = json.loads(final.read_text())
    return record


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(url: str, root: Path, dot: str, clients: int) -> tuple[float, int]:
    import trio

    run_id = start_run(url, dot)
    received = trio.run(attach, url, run_id, clients) if clients else []
    record = wait_final(root, run_id)
    assert record["status"] == "success", record
    progress = (root / "runs" / run_id / "progress.ndjson").read_text().splitlines()
    seqs = [json.loads(line)["seq"] for line in progress if line]
    for got in received:
        assert got == seqs, f"a client got {len(got)} events, expected {len(seqs)} in order"
    per_stage_ms = record["duration_ms"] / (STAGES + 2)
    return per_stage_ms, len(seqs)


def main() -> None:
    dot = pipeline(STAGES)
    with tempfile.TemporaryDirectory(prefix="attractor-bench-server-") as tmp:
        root = Path(tmp)
        process, url = start_server(root)
        os.nice(CLIENT_NICE)  # the server (started above) keeps its priority
        loads: list[float] = []
        try:
            alone: list[float] = []
            watched: list[float] = []
            events = 0
            server_cpu: list[float] = []
            client_cpu: list[float] = []
            for round_ in range(ROUNDS):
                loads.append(os.getloadavg()[0])
                # Alternate which goes first so that a drifting load favours neither.
                for clients in (0, CLIENTS) if round_ % 2 == 0 else (CLIENTS, 0):
                    if not clients:
                        cost, events = one_run(url, root, dot, 0)
                        alone.append(cost)
                        continue
                    before = cpu_seconds(process.pid), time.process_time()
                    cost, events = one_run(url, root, dot, CLIENTS)
                    server_cpu.append(cpu_seconds(process.pid) - before[0])
                    client_cpu.append(time.process_time() - before[1])
                    watched.append(cost)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            if process.stdout is not None:
                process.stdout.close()
    a, w = statistics.median(alone), statistics.median(watched)
    print(f"{STAGES} simulate stages, {events} events per run, {CLIENTS} SSE clients "
          f"({RECONNECTING} reconnecting every {DROP_EVERY} events): every client got every "
          "event once, in order")
    print(f"engine per-stage cost: alone {a:.2f} ms, with clients {w:.2f} ms, "
          f"ratio {w / a:.2f} (median of {ROUNDS} interleaved rounds; "
          f"alone {', '.join(f'{x:.2f}' for x in alone)}; "
          f"watched {', '.join(f'{x:.2f}' for x in watched)})")
    print(f"CPU per watched run: server {statistics.median(server_cpu):.2f} s "
          f"({', '.join(f'{x:.2f}' for x in server_cpu)}), clients "
          f"{statistics.median(client_cpu):.2f} s at nice {CLIENT_NICE}")
    print(f"load average (1 min) at the start of each round: "
          f"{', '.join(f'{x:.1f}' for x in loads)}")


if __name__ == "__main__":
    main()
