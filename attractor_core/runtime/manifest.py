"""``manifest.json``: what was run, where, and with which options (for resume)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attrs import field, frozen

from attractor_core.errors import UsageError
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.structure import structure

SCHEMA_VERSION = 1


@frozen
class Manifest:
    run_id: str
    graph_name: str
    goal: str
    dot_file: str
    workdir: str
    logs_root: str
    started_at: str
    overrides: dict[str, str] = field(factory=dict)
    options: dict[str, str] = field(factory=dict)
    policy: dict[str, str] = field(factory=dict)
    schema_version: int = SCHEMA_VERSION


def write_manifest(path: Path, manifest: Manifest) -> None:
    from attractor_core.runtime.serialization import CONVERTER  # readers do without cattrs

    write_json_atomic(path, CONVERTER.unstructure(manifest))


def read_manifest(path: Path) -> Manifest:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return structure(raw, Manifest)
    except FileNotFoundError:
        raise UsageError(f"{path.parent}: no run here (manifest.json is missing); "
                         "pass the logs root printed when the run started") from None
    except Exception as exc:
        raise UsageError(f"{path}: unreadable manifest: {exc}") from None
