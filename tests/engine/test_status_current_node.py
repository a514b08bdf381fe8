"""``attractor status`` names the stage in flight, even one that blocks the run's event loop.

live.json is refreshed by the run's event loop; a handler stuck in a blocking call stops that
loop, so live.json keeps naming the stage before. The checkpoint records the attempt before it
starts, and status believes it over a live.json that names the last completed stage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .support import attractor, cli_command, pipeline

pytestmark = pytest.mark.slow

PLUGIN = '''
import time
import pluggy

from attractor_core.model import Outcome

hookimpl = pluggy.HookimplMarker("attractor")


class Blocking:
    async def execute(self, node, context, graph, run):
        (run.stage_dir / "entered").write_text("yes")
        time.sleep(60)  # a blocking call: the event loop stops with it
        return Outcome.success()


@hookimpl
def attractor_handler_types():
    return {"test.blocking": Blocking()}
'''


def install_plugin(site: Path) -> None:
    """A distribution with an ``attractor`` entry point, made by hand on a path entry."""
    site.mkdir()
    (site / "blocking_plugin.py").write_text(PLUGIN)
    info = site / "blocking_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: blocking-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[attractor]\nblocking = blocking_plugin\n")


def test_status_names_a_stage_that_blocks_the_event_loop(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site)
    root = tmp_path / "logs"
    dot = pipeline(tmp_path, '  stuck [type="test.blocking"]\n  start -> stuck -> exit')
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.Popen(cli_command("run", dot, "--logs-root", root, "--workdir", tmp_path,
                                        "--quiet"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (root / "stuck" / "entered").exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the blocking stage never started"
            time.sleep(0.02)
        text = attractor("status", "--logs-root", root)
        data = json.loads(attractor("status", "--logs-root", root, "--json").stdout)
        assert (data["state"], data["current_node"], data["attempt"]) == ("running", "stuck", 1)
        assert "current node: stuck (attempt 1)" in text.stdout
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
