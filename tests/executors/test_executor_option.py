"""``--executor``: validated against the executors plugins contribute, recorded in the
manifest."""

from __future__ import annotations

from pathlib import Path

from tests.concurrency.support import tool
from tests.engine.support import attractor, pipeline, read_json


def test_an_unknown_executor_is_exit_2_naming_the_known_ones(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, tool("a", "touch ran") + "\n  start -> a -> exit")
    done = attractor("run", dot, "--logs-root", tmp_path / "logs", "--executor", "k8s://x",
                     cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("attractor: --executor 'k8s://x': no executor for scheme "
                                  "'k8s' (known: local, ")
    assert "dask:..." in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "logs").exists() and not (tmp_path / "ran").exists()


def test_the_executor_is_recorded_in_the_manifest(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, tool("a", "touch ran") + "\n  start -> a -> exit")
    done = attractor("run", dot, "--logs-root", tmp_path / "logs", "--executor", "local",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_json(tmp_path / "logs" / "manifest.json")["options"]["executor"] == "local"
