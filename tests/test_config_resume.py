"""A resume without --config uses the run's recorded config file again (its [llm] table)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.engine.support import attractor, start_attractor


def test_resume_rereads_the_llm_table_of_the_recorded_config(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text("""digraph P {
      start [shape=Mdiamond]
      exit [shape=Msquare]
      wait [shape=parallelogram, tool_command="test -f waited || { touch waited; sleep 30; }"]
      write [prompt="write it"]
      start -> wait -> write -> exit
    }""")
    config = tmp_path / "attractor.toml"
    config.write_text('[llm]\ndefault_provider = "p"\n[llm.providers.p]\nbackend = "simulate"\n')
    logs = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--config", config,
                           "--quiet")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress = logs / "progress.ndjson"
        if progress.exists() and '"node_id":"wait"' in progress.read_text():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    manifest = json.loads((logs / "manifest.json").read_text())
    assert manifest["options"]["config_file"] == str(config.resolve())
    # The resume must read the file again: route the provider to a backend that does not exist.
    config.write_text(config.read_text().replace('"simulate"', '"nonexistent"'))
    result = attractor("resume", "--logs-root", logs, "--quiet")
    assert result.returncode == 2, result.stderr
    assert "node write: unknown codergen backend 'nonexistent'" in result.stderr
    assert json.loads((logs / "final.json").read_text())["status"] == "canceled"  # untouched
