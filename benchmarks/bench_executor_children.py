"""Sub-pipelines on the Dask executor against the local one, side by side in one run.

A chain of 20 ``subgraph`` stages, each running a child of one ``simulate`` stage (pure
engine work, so what is measured is the cost of a child run, not of its work). It runs on
``local`` (every child in process) and on ``dask-local:2`` (every child a Dask task on a
worker), interleaved (local, dask, local, dask); each child is timed by its stage's
``stage_attempt_end`` ``duration_ms``, and the best round of each executor is compared.
The cluster's start is outside the timing. Needs ``distributed``
(``pip install -e './plugins[dask]'``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from benchmarks.bench_executor import distributed_missing, run_on

ROUNDS = 2
CHILDREN = 20


def _dots(root: Path) -> Path:
    (root / "child.dot").write_text(
        'digraph C {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n'
        '  work [prompt="do it"]\n  start -> work -> exit\n}\n')
    lines = ["digraph P {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]"]
    chain = ["start"]
    for i in range(CHILDREN):
        lines.append(f'  s{i} [type="subgraph", subgraph.dotfile="child.dot"]')
        chain.append(f"s{i}")
    lines += [f"  {' -> '.join([*chain, 'exit'])}", "}"]
    path = root / "parent.dot"
    path.write_text("\n".join(lines) + "\n")
    return path


def _child_ms(logs: Path) -> list[float]:
    events = [json.loads(line) for line in (logs / "progress.ndjson").read_text().splitlines()]
    return [e["duration_ms"] for e in events
            if e["event"] == "stage_attempt_end" and e["node_id"].startswith("s")]


def _run(dot: Path, logs: Path, executor: str) -> tuple[float, float]:
    wall = run_on(dot, logs, executor)
    return statistics.median(_child_ms(logs)), wall


def main() -> None:
    if distributed_missing():
        return
    root = Path(tempfile.mkdtemp(prefix="bench-executor-children-"))
    dot = _dots(root)
    print(f"{CHILDREN} sequential sub-pipelines of one simulate stage")
    print(f"{'executor':<13} {'median ms/child':>15} {'run s':>7}")
    best: dict[str, float] = {}
    for n in range(ROUNDS):
        for executor in ("local", "dask-local:2"):
            per_child, wall = _run(dot, root / f"{executor}-{n}", executor)
            best[executor] = min(best.get(executor, per_child), per_child)
            print(f"{executor:<13} {per_child:15.1f} {wall:7.2f}", flush=True)
    local, dask = best["local"], best["dask-local:2"]
    print(f"sub-pipeline: best median local {local:.1f} ms, dask-local:2 {dask:.1f} ms, "
          f"ratio {dask / local:.2f}, extra per child {dask - local:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
