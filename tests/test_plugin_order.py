"""A third-party plugin overrides a built-in handler and policy whatever its entry-point name.

Two throwaway distributions, ``acme`` and ``zeta`` (names on either side of the built-ins'
``handlers`` and ``plugins``), are really built and installed with pip; each replaces the
``tool`` handler and the ``ordered`` failover policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.installed import pip_install

PYPROJECT = """[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"

[project.entry-points.attractor]
{entry} = "{name}_plugin"

[tool.hatch.build.targets.wheel]
packages = ["{name}_plugin"]
"""

PLUGIN = '''"""Replaces the built-in tool handler and the ``ordered`` failover policy."""
import pluggy

from attractor_core.model import Outcome

hookimpl = pluggy.HookimplMarker("attractor")


class Tool:
    async def execute(self, node, context, graph, run):
        (run.stage_dir / "overridden.txt").write_text("{name}\\n")
        return Outcome.success(context_updates={{"tool.by": "{name}"}})


class Policy:
    owner = "{name}"


@hookimpl
def attractor_handler_types():
    return {{"tool": Tool()}}


@hookimpl
def attractor_failover_policy(name, config):
    return Policy() if name == "ordered" else None
'''

PIPELINE = """digraph p {
  start [shape=Mdiamond]; done [shape=Msquare]
  work [shape=parallelogram, tool_command="exit 7"]
  start -> work -> done
}"""


def install(base: Path, name: str, entry: str | None = None) -> Path:
    source, site = base / name, base / f"{name}-site"
    (source / f"{name}_plugin").mkdir(parents=True)
    (source / "pyproject.toml").write_text(PYPROJECT.format(name=name, entry=entry or name))
    (source / f"{name}_plugin" / "__init__.py").write_text(PLUGIN.format(name=name))
    return pip_install(source, site)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("order")
    return {name: install(base, name) for name in ("acme", "zeta")}


def env_with(*sites: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(site) for site in sites)}


@pytest.mark.parametrize("name", ["acme", "zeta"])
def test_a_third_party_tool_handler_replaces_the_built_in(sites, tmp_path, name):
    (tmp_path / "p.dot").write_text(PIPELINE)
    logs = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "attractor_core", "run", str(tmp_path / "p.dot"),
                           "--logs-root", str(logs), "--workdir", str(tmp_path), "--quiet"],
                          env=env_with(sites[name]), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr  # the built-in tool handler would fail on exit 7
    assert (logs / "work" / "overridden.txt").read_text() == f"{name}\n"
    assert json.loads((logs / "checkpoint.json").read_text())["context"]["tool.by"] == name


PROBE = """from attractor_core.plugins import make_plugin_manager
pm = make_plugin_manager()
print(getattr(pm.hook.attractor_failover_policy(name="ordered", config={}), "owner", "builtin"))
print(getattr(pm.hook.attractor_failover_policy(name="none", config={}), "owner", "builtin"))
"""


@pytest.mark.parametrize("name", ["acme", "zeta"])
def test_a_third_party_failover_policy_replaces_the_built_in(sites, name):
    done = subprocess.run([sys.executable, "-c", PROBE], env=env_with(sites[name]),
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == [name, "builtin"]


def test_between_third_parties_the_later_distribution_name_wins(sites):
    done = subprocess.run([sys.executable, "-c", PROBE], env=env_with(sites["zeta"], sites["acme"]),
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["zeta", "builtin"]


def test_an_entry_point_named_like_a_built_in_is_a_clear_load_error(tmp_path):
    site = install(tmp_path, "clash", entry="handlers")
    (tmp_path / "p.dot").write_text(PIPELINE)
    done = subprocess.run([sys.executable, "-m", "attractor_core", "validate",
                           str(tmp_path / "p.dot")], env=env_with(site), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "attractor-handlers and clash share the entry-point name 'handlers'" in done.stderr
    assert "rename one" in done.stderr and "Traceback" not in done.stderr


def test_a_plugin_installed_as_a_zip_on_the_path_is_found(sites, tmp_path):
    """Entry points are read from dist-info folders; a zip on sys.path is left to
    importlib.metadata, which reads inside it."""
    archive = tmp_path / "acme.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(sites["acme"].rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                bundle.write(path, path.relative_to(sites["acme"]).as_posix())
    (tmp_path / "p.dot").write_text(PIPELINE)
    logs = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "attractor_core", "run", str(tmp_path / "p.dot"),
                           "--logs-root", str(logs), "--workdir", str(tmp_path), "--quiet"],
                          env=env_with(archive), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (logs / "work" / "overridden.txt").read_text() == "acme\n"
