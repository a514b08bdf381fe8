"""Handing the run's working directory to the workspace plugin, if one takes it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy

from attractor_core.protocols import RunWorkspace


async def open_workspace(pm: pluggy.PluginManager, *, workdir: Path, logs_root: Path,
                         run_id: str, options: Mapping[str, Any],
                         resume_from: Mapping[str, Any] | None) -> RunWorkspace | None:
    """The workspace a plugin prepared for this run, or ``None`` (stages run in
    ``workdir``). A ``UsageError`` from the plugin refuses the run."""
    workspace: RunWorkspace | None = pm.hook.attractor_run_workspace(
        workdir=workdir, logs_root=logs_root, run_id=run_id, options=options,
        resume_from=resume_from)
    if workspace is not None:
        await workspace.start()
    return workspace
