"""``manifest.json``: what was run, where, and with which options (for resume)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attractor_core.errors import UsageError
from attractor_core.records import Record
from attractor_core.runtime.atomic import write_json_atomic
from attractor_core.runtime.structure import structure

SCHEMA_VERSION = 1


class Manifest(Record):
    __match_args__ = __slots__ = (
        "run_id", "graph_name", "goal", "dot_file", "workdir", "logs_root", "started_at",
        "overrides", "options", "policy", "schema_version",
    )
    run_id: str
    graph_name: str
    goal: str
    dot_file: str
    workdir: str
    logs_root: str
    started_at: str
    overrides: dict[str, str]
    options: dict[str, str]
    policy: dict[str, str]
    schema_version: int

    def __init__(self, run_id: str, graph_name: str, goal: str, dot_file: str, workdir: str,
                 logs_root: str, started_at: str, overrides: dict[str, str] | None = None,
                 options: dict[str, str] | None = None, policy: dict[str, str] | None = None,
                 schema_version: int = SCHEMA_VERSION) -> None:
        setter = object.__setattr__
        setter(self, "run_id", run_id)
        setter(self, "graph_name", graph_name)
        setter(self, "goal", goal)
        setter(self, "dot_file", dot_file)
        setter(self, "workdir", workdir)
        setter(self, "logs_root", logs_root)
        setter(self, "started_at", started_at)
        setter(self, "overrides", {} if overrides is None else overrides)
        setter(self, "options", {} if options is None else options)
        setter(self, "policy", {} if policy is None else policy)
        setter(self, "schema_version", schema_version)


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
