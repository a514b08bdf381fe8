"""``python -m benchmarks server``: 200 SSE clients on one 1,000-stage simulate run.

An ``attractor serve`` process streams the runs; this process starts each
run itself (``attractor run`` under the server's runs root, which the
server lists and streams like its own runs) so that it gets the run
process's CPU time (``os.wait4``) and scheduler statistics. For each round
it runs the pipeline once alone, once with 200 clients attached from the
start, 50 of which drop their connection every 500 events and resume with
``Last-Event-ID`` (a reconnect storm), and once beside a busy loop per core
at the lowest CPU priority (the control: what any CPU load on the two cores
costs the run). The clients check that each got every event of
progress.ndjson exactly once, in order. Reported per stage of the run,
rounds interleaved: wall (final.json ``duration_ms`` / stages), the run
process's CPU time, the time its main thread was runnable but waiting for
a core, and its blocking waits; and the CPU seconds the server and the
clients spent per watched run.

Real clients run on other machines; here they share the server's cores, so
the clients (and the burners) run under SCHED_IDLE in the run's session:
they take only what the run leaves over and yield a core the moment the
run wakes. That only holds within one autogroup (Linux groups tasks by
session when ``/proc/sys/kernel/sched_autogroup_enabled`` is 1): a task of
another session, at any nice value or SCHED_IDLE, keeps its core for up to
a scheduler slice when the run wakes, and the run blocks (fsync) some 34
times a stage. The server has a session of its own, as in service; the run
is started from this process's session, as from a shell.
``ATTRACTOR_BENCH_ROUNDS`` sets the number of rounds (4).
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

STAGES = 1000
CLIENTS = 200
RECONNECTING = 50
DROP_EVERY = 500
ROUNDS = int(os.environ.get("ATTRACTOR_BENCH_ROUNDS", "4"))
ID_LINE = re.compile(rb"(?m)^id: (\d+)\r$")
MODES = ("alone", "clients", "burner")
LABELS = {"alone": "alone", "clients": f"{CLIENTS} clients",
          "burner": "a busy loop per core, no client"}


def pipeline(stages: int) -> str:
    names = [f"s{i}" for i in range(stages)]
    nodes = "\n".join(f'  {n} [shape=box, prompt="step {n}"]' for n in names)
    return ("digraph Load {\n  start [shape=Mdiamond]\n  done [shape=Msquare]\n" + nodes
            + "\n  start -> " + " -> ".join(names) + " -> done\n}\n")


def lowest_priority() -> None:
    """This process under SCHED_IDLE: it runs only on a core nothing else in its autogroup
    wants, and yields it as soon as such a task wakes."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "attractor_core", "serve", "--runs-root", str(root / "runs"),
         "--port", "0", "--workdir", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=root,
        start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


async def client_task(host: str, port: int, run_id: str, reconnects: bool,
                      received: list[bytes]) -> None:
    """Read the run's stream to its end over a plain socket, keeping what arrives as it
    came: the load generator must cost little CPU next to the server it measures, so the
    events are parsed after the run (:func:`event_ids`). A reconnecting client drops the
    connection every DROP_EVERY events and resumes after the last id it saw."""
    import trio

    last_id = 0
    while True:
        resume = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
        request = (f"GET /pipelines/{run_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Accept: text/event-stream\r\n{resume}\r\n").encode()
        events = 0
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
                received.append(complete)
                if b"event: end" in complete:
                    ended = True
                    break
                if not reconnects:
                    continue
                events += complete.count(b"\nid: ")  # every id line follows a line end
                if events >= DROP_EVERY:
                    start = complete.rfind(b"\nid: ") + 5
                    last_id = int(complete[start:complete.index(b"\r", start)])
                    break  # drop the connection; the loop resumes after the last id
        if ended:
            return


def event_ids(received: list[bytes]) -> list[int]:
    return [int(m) for part in received for m in ID_LINE.findall(part)]


async def attach(url: str, run_id: str, clients: int) -> list[list[bytes]]:
    import trio

    host, port = url.removeprefix("http://").rsplit(":", 1)
    received: list[list[bytes]] = [[] for _ in range(clients)]
    async with trio.open_nursery() as nursery:
        for i in range(clients):
            nursery.start_soon(client_task, host, int(port), run_id, i < RECONNECTING,
                               received[i])
    return received


def start_run(root: Path, dot: Path, run_id: str) -> subprocess.Popen[bytes]:
    """``attractor run`` under the server's runs root, in this process's session (as from
    a shell), a child of this process (for its rusage)."""
    return subprocess.Popen(
        [sys.executable, "-m", "attractor_core", "run", str(dot), "--logs-root",
         str(root / "runs" / run_id), "--run-id", run_id, "--workdir", str(root), "--quiet",
         "--backend", "simulate", "--interviewer", "auto"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=root)


def burners() -> list[subprocess.Popen[bytes]]:
    """A busy loop per core at the lowest priority (the clients' one)."""
    code = "from benchmarks.bench_server import lowest_priority\nlowest_priority()\nwhile 1: pass"
    return [subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
            for _ in range(os.cpu_count() or 2)]


def clients_main(url: str, run_id: str, run_dir: str) -> None:
    """``python -m benchmarks.bench_server URL RUN_ID RUN_DIR``: the clients of one run, at
    the lowest priority; check what each got, print the CPU seconds they took."""
    import trio

    lowest_priority()
    received = trio.run(attach, url, run_id, CLIENTS)
    cpu = time.process_time()
    progress = (Path(run_dir) / "progress.ndjson").read_text().splitlines()
    seqs = [json.loads(line)["seq"] for line in progress if line]
    for parts in received:
        got = event_ids(parts)
        if got != seqs:
            raise SystemExit(f"a client got {len(got)} events, expected {len(seqs)} in order")
    print(json.dumps({"cpu": cpu}))


class Measure:
    """One run's per-stage costs: wall (final.json ``duration_ms``), the CPU time of its
    process (user + system, from its rusage: the whole process, start-up included), the
    time its main thread was runnable but waiting for a core, its blocking waits."""

    def __init__(self, wall_ms: float, cpu_ms: float, runnable_ms: float, sleeps: float,
                 events: int):
        self.wall_ms = wall_ms
        self.cpu_ms = cpu_ms
        self.runnable_ms = runnable_ms
        self.sleeps = sleeps  # voluntary context switches, all threads
        self.events = events


def one_run(url: str, root: Path, dot: Path, run_id: str, mode: str) -> tuple[Measure, float]:
    """The run's costs and the clients' CPU seconds (0 without clients)."""
    run_dir = root / "runs" / run_id
    process = start_run(root, dot, run_id)
    burning = burners() if mode == "burner" else []
    clients_cpu = 0.0
    try:
        if mode == "clients":
            while not (run_dir / "progress.ndjson").exists() and process.poll() is None:
                time.sleep(0.002)
            result = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_server", url, run_id, str(run_dir)],
                cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, text=True,
                check=True)
            clients_cpu = json.loads(result.stdout)["cpu"]
        # Exited but not reaped: its main thread's scheduler statistics are still there.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        waited_ns = int(Path(f"/proc/{process.pid}/schedstat").read_text().split()[1])
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        for burner in burning:
            burner.kill()
            burner.wait()
    assert process.returncode == 0, f"run {run_id} exited with {process.returncode}"
    record = json.loads((run_dir / "final.json").read_text())
    assert record["status"] == "success", record
    events = len((run_dir / "progress.ndjson").read_text().splitlines())
    stages = STAGES + 2
    return Measure(record["duration_ms"] / stages,
                   (usage.ru_utime + usage.ru_stime) * 1000 / stages,
                   waited_ns / 1e6 / stages, usage.ru_nvcsw / stages, events), clients_cpu


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listing(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="attractor-bench-server-") as tmp:
        root = Path(tmp)
        dot = root / "load.dot"
        dot.write_text(pipeline(STAGES), encoding="utf-8")
        process, url = start_server(root)
        loads: list[float] = []
        costs: dict[str, list[Measure]] = {mode: [] for mode in MODES}
        server_cpu: list[float] = []
        client_cpu: list[float] = []
        try:
            for round_ in range(ROUNDS):
                loads.append(os.getloadavg()[0])
                # Rotate which goes first so that a drifting load favours none.
                order = MODES[round_ % len(MODES):] + MODES[:round_ % len(MODES)]
                for mode in order:
                    before = cpu_seconds(process.pid)
                    measure, clients = one_run(url, root, dot, f"r{round_}-{mode}", mode)
                    costs[mode].append(measure)
                    if mode == "clients":
                        server_cpu.append(cpu_seconds(process.pid) - before)
                        client_cpu.append(clients)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            if process.stdout is not None:
                process.stdout.close()
    print(f"{STAGES} simulate stages, {costs['alone'][-1].events} events per run, {CLIENTS} "
          f"SSE clients ({RECONNECTING} reconnecting every {DROP_EVERY} events): every "
          "client got every event once, in order")
    print(f"per stage of the run, median of {ROUNDS} interleaved rounds (wall: final.json "
          "duration_ms; CPU: the run process's user + system time):")
    base = costs["alone"]
    base_wall = statistics.median(m.wall_ms for m in base)
    base_cpu = statistics.median(m.cpu_ms for m in base)
    for mode in MODES:
        wall = statistics.median(m.wall_ms for m in costs[mode])
        cpu = statistics.median(m.cpu_ms for m in costs[mode])
        print(f"  {LABELS[mode]}: wall {wall:.2f} ms (ratio {wall / base_wall:.2f}), "
              f"CPU {cpu:.2f} ms (ratio {cpu / base_cpu:.2f}); waiting for a core "
              f"{statistics.median(m.runnable_ms for m in costs[mode]):.2f} ms, "
              f"{statistics.median(m.sleeps for m in costs[mode]):.1f} blocking waits")
        print(f"    wall {listing([m.wall_ms for m in costs[mode]])}; "
              f"CPU {listing([m.cpu_ms for m in costs[mode]])}")
    print(f"CPU per watched run: server {statistics.median(server_cpu):.2f} s "
          f"({listing(server_cpu)}), clients {statistics.median(client_cpu):.2f} s "
          f"({listing(client_cpu)})")
    print(f"load average (1 min) at the start of each round: "
          f"{', '.join(f'{x:.1f}' for x in loads)}")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        clients_main(*sys.argv[1:])
    else:
        main()
