"""The run config file (``--config attractor.toml``): its ``[run]`` and ``[llm]`` tables."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from attractor_core.errors import UsageError


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def run_table(path: Path) -> dict[str, str]:
    """The ``[run]`` table (run-policy keys), all values kept as text."""
    table = read_config_file(path).get("run", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [run] must be a table")
    return {str(k): str(v) for k, v in table.items()}


def llm_table(path: Path) -> dict[str, Any] | None:
    """The ``[llm]`` table (providers, failover...), or None when the file has none."""
    table = read_config_file(path).get("llm")
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{path}: [llm] must be a table")
    return table
