"""A real ``StageRun`` for driving handlers directly through ``execute``.

Everything is real: the stage dir and workdir are directories under
``tmp_path``, the plugin hook is a real plugin manager with the installed
entry points, and events are the typed objects the handler emitted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from attrs import define, field

from attractor_core.engine.stage_run import stage_environment
from attractor_core.plugins import make_plugin_manager


@define
class DirectStageRun:
    """Implements ``attractor_core.protocols.StageRun`` for one attempt of ``node_id``."""

    node_id: str
    logs_root: Path
    workdir: Path
    pm: Any
    options: dict[str, Any] = field(factory=dict)
    attempt: int = 1
    execution: int = 1
    run_id: str = "test-run"
    branch_key: str = ""
    dot_path: Path | None = None
    events: list[Any] = field(factory=list)
    progress_reports: list[int] = field(factory=list)
    plugins: dict[str, Any] = field(factory=dict)
    stops: list[tuple[str, str]] = field(factory=list)  # (exit_path, reason) of stop_run

    @property
    def stage_dir(self) -> Path:
        path = self.logs_root / self.node_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def environment(self) -> dict[str, str]:
        return stage_environment(self.run_id, self.node_id, self.attempt, self.logs_root,
                                 self.stage_dir, self.workdir)

    def emit(self, event: Any) -> None:
        self.events.append(event)

    def progress(self, output_bytes: int) -> None:
        self.progress_reports.append(output_bytes)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def plugin_hook(self) -> Any:
        return self.pm.hook

    def plugin_state(self, name: str) -> dict[str, Any]:
        return self.plugins.setdefault(name, {})

    def stop_run(self, exit_path: str, reason: str, *, failure_class: str = "",
                 resumable: bool = False) -> None:
        self.stops.append((exit_path, reason))


@pytest.fixture(scope="session")
def plugin_manager() -> Any:
    return make_plugin_manager()


@pytest.fixture
def make_run(tmp_path: Path, plugin_manager: Any) -> Callable[..., DirectStageRun]:
    """``make_run(node_id, **fields)``: a stage run in a fresh logs root and workdir."""
    workdir = tmp_path / "work"
    workdir.mkdir()

    def build(node_id: str, **fields: Any) -> DirectStageRun:
        return DirectStageRun(
            node_id=node_id, logs_root=tmp_path / "logs", workdir=workdir, pm=plugin_manager,
            **fields,
        )

    return build
