"""docs/plugins.md: the tutorial's code, installed with pip exactly as written, really works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installed import pip_install

DOC = Path(__file__).parent.parent / "docs" / "plugins.md"
BLOCK = re.compile(r"```(\w+)\n(?:#|//) file: (\S+)\n(.*?)```", re.DOTALL)


def tutorial_files() -> dict[str, str]:
    """Every fenced block of the tutorial that starts with a ``file:`` line, by file name."""
    return {name: body for _, name, body in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("acme-src")
    for name, body in tutorial_files().items():
        if name != "pipeline.dot":
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text(body, encoding="utf-8")
    return pip_install(source, tmp_path_factory.mktemp("acme-site"))


def test_each_plugin_of_the_tutorial_is_under_40_lines():
    files = tutorial_files()
    plugins = ["acme_attractor/word_count.py", "acme_attractor/inbox.py",
               "acme_attractor/timings.py"]
    assert set(plugins) <= set(files)
    assert {name: len(files[name].splitlines()) < 40 for name in plugins} == dict.fromkeys(
        plugins, True)


def test_the_tutorial_plugins_handle_a_node_find_a_status_and_record_timings(acme_site, tmp_path):
    (tmp_path / "pipeline.dot").write_text(tutorial_files()["pipeline.dot"])
    (tmp_path / "notes.txt").write_text("three small words\n")
    logs = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "attractor_core", "run", "pipeline.dot",
                           "--logs-root", str(logs), "--quiet"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(acme_site)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr

    assert json.loads((logs / "count" / "count.json").read_text())["words"] == 3
    checkpoint = json.loads((logs / "checkpoint.json").read_text())
    assert checkpoint["context"]["acme.words"] == 3

    events = [json.loads(line) for line in (logs / "progress.ndjson").read_text().splitlines()]
    counted = [e for e in events if e["event"] == "acme_words_counted"]
    assert [(e["node_id"], e["words"]) for e in counted] == [("count", 3)]
    report = [e for e in events
              if e["event"] == "status_ingestion_decision" and e["node_id"] == "report"]
    assert [e["chosen_source"] for e in report] == ["acme-inbox"]
    assert "filed by the agent" in (logs / "report" / "status.json").read_text()

    rows = [line.split("\t") for line in (logs / "timings.tsv").read_text().splitlines()]
    assert [(node, status) for node, _, status, _ in rows] == [
        ("start", "success"), ("count", "success"), ("report", "success"),
        ("done", "success")]
