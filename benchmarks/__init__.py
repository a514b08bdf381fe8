"""Benchmarks for attractor. Each ``bench_<name>.py`` module exposes ``main()``.

Run them all with ``python -m benchmarks``, or some with
``python -m benchmarks parser frontend``. Numbers are recorded by hand in
``benchmarks/RESULTS.md`` under one heading per module.
"""
