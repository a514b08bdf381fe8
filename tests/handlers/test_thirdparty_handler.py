"""Spec §4.12: a separately installed distribution adds a node type through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.installed import install_copy

FIXTURE = Path(__file__).parent.parent / "fixtures" / "thirdparty_handler"
CLI = [sys.executable, "-m", "attractor_core"]

PIPELINE = """digraph echo {
  start [shape=Mdiamond]; done [shape=Msquare]
  shout [type="echo.upper", text="hello plugins"]
  start -> shout -> done
}"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture distribution really installed (pip, its own build backend) into a directory."""
    base = tmp_path_factory.mktemp("thirdparty")
    return install_copy(FIXTURE, base)


def env_with(site: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return env


async def run_echo(tmp_path: Path, site: Path | None) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "echo.dot").write_text(PIPELINE)
    logs = tmp_path / "logs"
    command = [*CLI, "run", str(tmp_path / "echo.dot"), "--logs-root", str(logs),
               "--workdir", str(tmp_path), "--quiet"]
    done = await trio.run_process(command, env=env_with(site), capture_stdout=True,
                                  capture_stderr=True, check=False)
    return done, logs


async def test_an_installed_plugin_registers_its_handler_type(plugin_site):
    probe = ("from attractor_core.plugins import make_plugin_manager\n"
             "from attractor_core.registry import HandlerRegistry\n"
             "print(sorted(HandlerRegistry.from_plugins(make_plugin_manager()).types))\n")
    done = await trio.run_process([sys.executable, "-c", probe], env=env_with(plugin_site),
                                  capture_stdout=True, check=True)
    types = done.stdout.decode()
    assert "'echo.upper'" in types and "'wait.human'" in types


async def test_a_node_of_the_plugin_type_runs_through_the_engine(plugin_site, tmp_path):
    done, logs = await run_echo(tmp_path, plugin_site)
    assert done.returncode == 0, done.stderr.decode()
    assert (logs / "shout" / "echo.txt").read_text() == "HELLO PLUGINS\n"
    checkpoint = json.loads((logs / "checkpoint.json").read_text())
    assert checkpoint["context"]["echo.text"] == "HELLO PLUGINS"


async def test_without_the_plugin_validation_warns_and_the_node_falls_back_to_codergen(tmp_path):
    (tmp_path / "echo.dot").write_text(PIPELINE)
    command = [*CLI, "validate", str(tmp_path / "echo.dot")]
    checked = await trio.run_process(command, env=env_with(None), capture_stdout=True,
                                     capture_stderr=True, check=False)
    report = (checked.stdout + checked.stderr).decode()
    assert "type_known" in report and "'echo.upper'" in report
    done, logs = await run_echo(tmp_path, None)
    assert done.returncode == 0, done.stderr.decode()  # spec §4.2: the default handler runs it
    assert (logs / "shout" / "prompt.md").exists()
    assert not (logs / "shout" / "echo.txt").exists()
