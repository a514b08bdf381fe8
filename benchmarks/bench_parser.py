"""Parser benchmark: our hand-written DOT parser against lark and pydot.

Run with ``python -m benchmarks parser``. Each case is a generated pipeline:
linear chains of 100 / 1,000 / 5,000 stages (three attributes each, prompts
with ``\\"``, ``\\n`` and ``\\t`` escapes) and a 1,000-stage graph with
subgraphs, scoped ``node``/``edge`` defaults and conditions on edges. For
each parser it prints the median and best wall time of several runs and the
tracemalloc peak of one parse, then checks that 20,000 stages parse and
that the time per stage stays roughly flat (no quadratic step, no recursion).

The lark grammar below mirrors spec §2.2 and runs with LALR(1) and the
contextual lexer. Its walk only collects node and edge attributes (no
default scoping, no class derivation), so its numbers are a lower bound
for a complete lark-based front end.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from itertools import pairwise
from typing import Any

from attractor_core.dot import parse_dot
from attractor_core.dot.lexer import unescape

LARK_GRAMMAR = r"""
start: "digraph" ID "{" stmt* "}"
?stmt: graph_attrs | node_defaults | edge_defaults | subgraph
     | edge_stmt | node_stmt | graph_decl | ";"
graph_attrs: "graph" attr_block
node_defaults: "node" attr_block
edge_defaults: "edge" attr_block
graph_decl: ID "=" value
subgraph: "subgraph" ID? "{" stmt* "}"
node_stmt: ID attr_block?
edge_stmt: ID ("->" ID)+ attr_block?
attr_block: "[" attr ("," attr)* "]"
attr: key "=" value
key: ID | QUALIFIED_ID
?value: STRING | BARE

QUALIFIED_ID.2: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+/
ID: /[A-Za-z_][A-Za-z0-9_]*/
BARE: /-?[A-Za-z0-9_.:][A-Za-z0-9_.:-]*/
STRING: /"(?:[^"\\]|\\.)*"/s

%ignore /[ \t\r\n\f]+/
%ignore /\/\/[^\n]*/
%ignore /\/\*(.|\n)*?\*\//
"""

RUNS = {100: 15, 1_000: 7, 5_000: 5}


def linear_source(count: int) -> str:
    """A start node, ``count`` stages with three attributes each, an exit, one chain."""
    lines = ["digraph Linear {", '  graph [goal="bench \\"all\\" of it"]',
             "  start [shape=Mdiamond]", "  exit [shape=Msquare]"]
    for i in range(count):
        lines.append(f'  s{i} [label="Stage {i}", prompt="Do step {i}:\\n\\t\\"quoted\\" '
                     f'and $goal", timeout="{i % 60 + 1}m"]')
    chain = " -> ".join(["start", *(f"s{i}" for i in range(count)), "exit"])
    lines += [f"  {chain}", "}"]
    return "\n".join(lines) + "\n"


def structured_source(count: int, group: int = 25) -> str:
    """Stages in labelled subgraphs with scoped defaults, conditional edges and back-edges."""
    lines = ["digraph Structured {", '  graph [goal="g", default_max_retries=1]',
             "  node [shape=box, timeout=\"15m\"]", "  edge [weight=1]",
             "  start [shape=Mdiamond]", "  exit [shape=Msquare]"]
    for first in range(0, count, group):
        lines.append(f"  subgraph cluster_{first} {{")
        # Quoted: pydot (standard DOT) rejects the bare gpt-5.3-codex-spark that we accept.
        lines.append(f'    node [thread_id="t{first}", llm_model="gpt-5.3-codex-spark"]')
        lines.append("    edge [fidelity=compact]")
        for i in range(first, min(first + group, count)):
            lines.append(f'    s{i} [label="Stage {i}", prompt="Work on {i}\\n"]')
        lines.append(f'    label = "Group {first // group}"')
        lines.append("  }")
    ids = ["start", *(f"s{i}" for i in range(count)), "exit"]
    for i, (src, dst) in enumerate(pairwise(ids)):
        lines.append(f'  {src} -> {dst} [condition="outcome=success", label="ok"]')
        if i % 10 == 9:
            lines.append(f'  {dst} -> {ids[i - 5]} [condition="outcome!=success", weight=2]')
    lines.append("}")
    return "\n".join(lines) + "\n"


def make_lark_parser() -> Callable[[str], Any]:
    import lark  # only the benchmark needs lark

    parser = lark.Lark(LARK_GRAMMAR, parser="lalr", lexer="contextual")

    def parse(source: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str]]]:
        nodes: dict[str, dict[str, str]] = {}
        edges: list[tuple[str, str]] = []
        for stmt in parser.parse(source).iter_subtrees_topdown():
            if stmt.data == "node_stmt":
                nodes.setdefault(str(stmt.children[0]), {}).update(_lark_attrs(stmt))
            elif stmt.data == "edge_stmt":
                ids = [str(c) for c in stmt.children if not hasattr(c, "data")]
                edges += pairwise(ids)
        return nodes, edges

    return parse


def _lark_attrs(stmt: Any) -> dict[str, str]:
    if not stmt.children or not hasattr(stmt.children[-1], "data"):
        return {}
    attrs = {}
    for attr in stmt.children[-1].children:
        key, value = attr.children
        text = str(value)
        attrs[str(key.children[0])] = unescape(text[1:-1]) if text.startswith('"') else text
    return attrs


def make_pydot_parser() -> Callable[[str], Any]:
    import pydot  # only the benchmark needs pydot

    return pydot.graph_from_dot_data


def timed(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median wall, best wall, median CPU) time in ms over ``runs`` runs.

    The CPU column is the process time, less disturbed by other work on a
    shared machine than the wall clock.
    """
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        if action() is None:  # pydot reports a syntax error by printing it and returning None
            raise RuntimeError("the parser rejected the generated pipeline")
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def cases() -> list[tuple[str, int, str]]:
    found = [(f"linear-{n}", n, linear_source(n)) for n in (100, 1_000, 5_000)]
    found.append(("structured-1000", 1_000, structured_source(1_000)))
    return found


def main() -> None:
    parsers: dict[str, Callable[[str], Any]] = {
        "ours": parse_dot, "lark-lalr": make_lark_parser(), "pydot": make_pydot_parser()}
    print("| case | parser | median ms | best ms | median CPU ms | µs/stage | peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, count, source in cases():
        for label, parse in parsers.items():
            runs = RUNS[count] if label != "pydot" else max(1, RUNS[count] // 3)
            median, best, cpu = timed(partial(parse, source), runs)
            peak = peak_mib(partial(parse, source))
            print(f"| {name} | {label} | {median:.1f} | {best:.1f} | {cpu:.1f} | "
                  f"{1000 * median / count:.1f} | {peak:.1f} |", flush=True)
    check_scaling()


def check_scaling() -> None:
    """20,000 stages must parse; time per stage should stay near the 5,000-stage figure."""
    per_stage = {}
    for count in (5_000, 20_000):
        source = linear_source(count)
        graph = parse_dot(source)
        assert len(graph.nodes) == count + 2 and len(graph.edges) == count + 1
        median, _, cpu = timed(partial(parse_dot, source), 5)
        per_stage[count] = 1000 * cpu / count
        print(f"ours, linear-{count}: {median:.1f} ms median wall, {cpu:.1f} ms CPU, "
              f"{per_stage[count]:.1f} µs/stage CPU")
    print(f"CPU µs/stage ratio 20,000 vs 5,000: {per_stage[20_000] / per_stage[5_000]:.2f} "
          "(1.0 = perfectly linear)")


if __name__ == "__main__":
    main()
