"""Short commands load only what they use: no trio, no engine, no handler code.

Timings are measured by ``python -m benchmarks cold_start``; these tests pin the
cause (which modules a command loads), which does not vary with machine load.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DEMO = Path(__file__).parent.parent / "examples" / "demo.dot"
HEAVY = ("trio", "ssl", "attractor_core.engine.run", "attractor_core.runtime.events",
         "attractor_handlers.tool", "attractor_handlers.codergen", "httpx")


PROBE = """import sys
from attractor_core.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
"""


def imported_by(*args: str) -> set[str]:
    """The modules loaded by one ``attractor ARGS`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "modules.txt"
        done = subprocess.run([sys.executable, "-c", PROBE, str(listing), *args],
                              capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in done.stderr, done.stderr
        return set(listing.read_text().splitlines())


@pytest.fixture(scope="module")
def demo_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cold")
    subprocess.run([sys.executable, "-m", "attractor_core", "run", str(DEMO), "--backend",
                    "simulate", "--interviewer", "auto", "--workdir", str(base), "--logs-root",
                    str(base / "logs"), "--quiet"], check=True, capture_output=True, timeout=300)
    return base / "logs"


def test_help_imports_no_command_module():
    modules = imported_by("--help")
    assert "attractor_core.cli.main" in modules  # the probe sees our imports at all
    assert not {m for m in modules if m.startswith("attractor_core.cli.")} - {
        "attractor_core.cli", "attractor_core.cli.main", "attractor_core.cli.output"}
    assert not modules & set(HEAVY)
    assert "importlib.metadata" not in modules and "pluggy" not in modules
    assert "cattrs" not in modules
    # The commands plugins add are listed from their declarations, no plugin is loaded.
    assert not {m for m in modules if m.endswith(".plugin")}


def test_validate_loads_plugins_but_not_the_engine_or_handler_code():
    modules = imported_by("validate", str(DEMO))
    assert {"attractor_handlers.plugin", "attractor_plugins.plugin"} <= modules
    assert not modules & set(HEAVY)
    assert "cattrs" not in modules  # artifact writes encode JSON without the converter
    # The model, the diagnostics and the plugins' lint-time classes are records, not attrs
    # classes.
    assert "attrs" not in modules and "attr" not in modules
    # Nor pathlib (with urllib.parse, ipaddress and ntpath's failed imports of nt and _winapi):
    # the kernel and the plugin entry modules name Path in annotations only.
    assert "pathlib" not in modules
    # Entry points are read from the dist-info folders, not through importlib.metadata.
    assert "importlib.metadata" not in modules and "email" not in modules
    assert "orjson" not in modules


def test_status_reads_artifacts_without_trio_or_plugins(demo_logs):
    modules = imported_by("status", "--logs-root", str(demo_logs))
    assert "attractor_core.runtime.run_status" in modules
    assert not modules & set(HEAVY)
    assert "pluggy" not in modules
    assert "cattrs" not in modules  # the records are read back without the converter
    assert "attrs" not in modules and "attr" not in modules  # ...and are not attrs classes
    assert "socket" not in modules  # the host name comes from os.uname()
    assert "orjson" not in modules  # the JSON encoder loads on first write (dataclasses, uuid)


def test_runs_and_stop_read_artifacts_without_the_engine(demo_logs):
    listing = imported_by("runs", "--runs-root", str(demo_logs.parent))
    assert "attractor_core.cli.runs" in listing and "attractor_core.runtime.run_status" in listing
    assert not listing & set(HEAVY)
    stop = imported_by("stop", "--logs-root", str(demo_logs))  # a finished run: nothing to stop
    assert "attractor_core.cli.stop" in stop
    assert not stop & set(HEAVY)


def test_a_simulated_run_loads_no_llm_client(tmp_path):
    """Backends are imported when a stage first uses one: a run on ``simulate`` never
    loads httpx, jsonschema or the api backend."""
    modules = imported_by("run", str(DEMO), "--backend", "simulate", "--interviewer", "auto",
                          "--workdir", str(tmp_path), "--logs-root", str(tmp_path / "logs"),
                          "--quiet")
    assert (tmp_path / "logs" / "final.json").is_file()
    assert "attractor_handlers.codergen" in modules  # codergen stages ran
    assert not modules & {"httpx", "jsonschema", "attractor_plugins.backends.api",
                          "attractor_plugins.backends.cli_backend"}
