"""``python -m benchmarks [name ...]``: run every (or the named) ``bench_*`` module's ``main()``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

PREFIX = "bench_"


def available() -> list[str]:
    """Benchmark names (module names without the ``bench_`` prefix), sorted."""
    folder = str(Path(__file__).parent)
    return sorted(m.name[len(PREFIX):] for m in pkgutil.iter_modules([folder])
                  if m.name.startswith(PREFIX))


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all): {', '.join(names)}")
    args = parser.parse_args(argv)
    chosen = [n.removeprefix(PREFIX) for n in args.names] or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}",
              file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"benchmarks.{PREFIX}{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
