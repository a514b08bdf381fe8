"""A broken third-party plugin never shows the user a raw traceback.

Both fixture distributions are really installed (pip, their own build backend) into a
directory on PYTHONPATH, as a user would install a plugin package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installed import install_copy

FIXTURES = Path(__file__).parent / "fixtures"
PIPELINE = """digraph p {
  start [shape=Mdiamond]; done [shape=Msquare]
  work [shape=parallelogram, tool_command="true"]
  start -> work -> done
}"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("broken")
    return {name: install_copy(FIXTURES / name, base) for name in ("broken_sink", "broken_import")}


def _run(site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "p.dot").write_text(PIPELINE)
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "attractor_core", "run", str(tmp_path / "p.dot"),
                           "--logs-root", str(tmp_path / "logs"), "--workdir", str(tmp_path),
                           "--quiet"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_plugin_that_cannot_be_imported_is_a_clear_usage_error(sites, tmp_path):
    result = _run(sites["broken_import"], tmp_path)
    assert result.returncode == 2
    assert "plugin 'broken_import'" in result.stderr
    assert "attractor-broken-import" in result.stderr and "fix or uninstall" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "logs").exists()


def test_a_plugin_failing_at_run_setup_ends_the_run_with_final_json(sites, tmp_path):
    result = _run(sites["broken_sink"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "internal error: RuntimeError: the sink's database is unreachable" in result.stderr
    report = result.stderr.split("the traceback is in ")[1].split(";")[0]
    assert "attractor_broken_sink" in Path(report).read_text()
    final = json.loads((tmp_path / "logs" / "final.json").read_text())
    assert (final["status"], final["exit_path"]) == ("fail", "engine_error")
    assert "the sink's database is unreachable" in final["failure_reason"]
    assert "attractor_broken_sink" in (tmp_path / "logs" / "engine-crash.txt").read_text()
