"""Front-end benchmark: parse + transform + validate on generated pipelines.

Run with ``python -m benchmarks.bench_frontend`` (or through the
``benchmarks`` harness). Prints one line per case: nodes, best-of wall
time for each phase, time per node, and the tracemalloc peak of one
full preparation. The target is 5,000 nodes under 250 ms in total, with
time growing linearly in the number of nodes.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from attractor_core.dot import parse_dot
from attractor_core.plugins import make_plugin_manager
from attractor_core.transforms import apply_transforms
from attractor_core.validation import validate

REPEATS = 3
T = TypeVar("T")


def linear_source(count: int) -> str:
    """``count`` stages in a chain, three attributes each, prompts with escapes and $goal."""
    lines = [
        "digraph Linear {",
        '  graph [goal="benchmark \\"goal\\""]',
        "  start [shape=Mdiamond]",
    ]
    for i in range(count):
        lines.append(
            f'  n{i} [label="Stage {i}", prompt="Do step {i} of $goal\\n\\tquote \\"x\\"", '
            f'timeout="{i % 50 + 1}m"]'
        )
    lines.append("  exit [shape=Msquare]")
    chain = " -> ".join(["start", *(f"n{i}" for i in range(count)), "exit"])
    lines += [f"  {chain}", "}"]
    return "\n".join(lines) + "\n"


def structured_source(count: int) -> str:
    """Subgraphs of 20 nodes with scoped defaults, a stylesheet and conditional back-edges."""
    lines = [
        "digraph Structured {",
        '  graph [goal="g", model_stylesheet="* { llm_model: a; } .group-3 { llm_model: b; }"]',
        "  node [shape=box, max_retries=1]",
        "  edge [weight=1]",
        "  start [shape=Mdiamond]",
        "  exit [shape=Msquare]",
    ]
    ids = [f"n{i}" for i in range(count)]
    for group in range(0, count, 20):
        lines.append(f'  subgraph cluster_{group} {{ label="Group {group // 20}"')
        lines.append(f'    node [thread_id="t{group}"]')
        lines += [f'    {n} [prompt="work on $goal"]' for n in ids[group : group + 20]]
        lines.append("  }")
    previous = "start"
    for i, node in enumerate(ids):
        lines.append(f'  {previous} -> {node} [condition="outcome=success"]')
        if i % 10 == 9:
            lines.append(
                f'  {node} -> {ids[i - 5]} [condition="outcome=fail && context.retry!=no"]'
            )
        previous = node
    lines += [f"  {previous} -> exit", "}"]
    return "\n".join(lines) + "\n"


def _best(action: Callable[[], T]) -> tuple[float, T]:
    """Best wall time of ``REPEATS`` calls, and the last result."""
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best, result


def measure(name: str, source: str) -> dict[str, float | str | int]:
    pm = make_plugin_manager(entry_points=False)
    parse_s, graph = _best(lambda: parse_dot(source, f"{name}.dot"))
    transform_s, transformed = _best(lambda: apply_transforms(graph, pm))
    validate_s, found = _best(lambda: validate(transformed, pm))
    assert found == [], f"{name}: generated graph should be clean, got {found[:3]}"
    tracemalloc.start()
    validate(apply_transforms(parse_dot(source, f"{name}.dot"), pm), pm)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    nodes = len(graph.nodes)
    total = parse_s + transform_s + validate_s
    return {
        "case": name,
        "nodes": nodes,
        "parse_ms": parse_s * 1e3,
        "transform_ms": transform_s * 1e3,
        "validate_ms": validate_s * 1e3,
        "total_ms": total * 1e3,
        "us_per_node": total * 1e6 / nodes,
        "peak_mib": peak / 2**20,
    }


CASES: tuple[tuple[str, Callable[[], str]], ...] = (
    ("linear-100", lambda: linear_source(100)),
    ("linear-1000", lambda: linear_source(1_000)),
    ("linear-5000", lambda: linear_source(5_000)),
    ("structured-1000", lambda: structured_source(1_000)),
    ("linear-20000", lambda: linear_source(20_000)),
)


def main() -> None:
    header = f"{'case':<16} {'nodes':>6} {'parse':>9} {'transform':>10} {'validate':>9} "
    print(header + f"{'total':>9} {'us/node':>8} {'peak MiB':>9}")
    for name, make in CASES:
        row = measure(name, make())
        print(
            f"{row['case']:<16} {row['nodes']:>6} {row['parse_ms']:>7.1f}ms "
            f"{row['transform_ms']:>8.1f}ms {row['validate_ms']:>7.1f}ms "
            f"{row['total_ms']:>7.1f}ms {row['us_per_node']:>8.1f} {row['peak_mib']:>9.1f}"
        )


if __name__ == "__main__":
    main()
