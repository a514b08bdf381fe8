"""Setting a run up: its configuration (registry, status sources) and its services (the
event bus with the plugins' sinks)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from attractor_core.executors import Executor
from attractor_core.model import Graph
from attractor_core.plugins import collect_in_registration_order
from attractor_core.policy import RunPolicy
from attractor_core.registry import HandlerRegistry
from attractor_core.runtime.event_bus import EventBus
from attractor_core.runtime.run_status import read_events
from attractor_core.runtime.rundir import RunDir

from .ingestion import status_sources
from .services import RunConfig, SubRuns

EventObserver = Callable[[Mapping[str, Any]], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def last_seq(progress: Path) -> int:
    """The ``seq`` of the last complete event of progress.ndjson (0 if none)."""
    for event in reversed(read_events(progress, limit=20)):
        seq = event.get("seq")
        if isinstance(seq, int):
            return seq
    return 0


def run_config(*, graph: Graph, run_id: str, run_dir: RunDir, workdir: Path,
               dot_path: Path | None, pm: pluggy.PluginManager, policy: RunPolicy,
               options: Mapping[str, Any], subruns: SubRuns,
               executor: Executor | None = None) -> RunConfig:
    """A top-level run's configuration; the plugins give its registry and status sources."""
    return RunConfig(graph=graph, run_id=run_id, run_dir=run_dir, workdir=workdir,
                     dot_path=dot_path, pm=pm, registry=HandlerRegistry.from_plugins(pm),
                     policy=policy, options=dict(options), subruns=subruns, executor=executor,
                     status_sources=status_sources(pm))


def event_bus(config: RunConfig, on_event: EventObserver | None) -> EventBus:
    """The run's event bus, with the plugins' sinks, numbering on from progress.ndjson."""
    sinks = collect_in_registration_order(
        config.pm.hook.attractor_event_sinks(logs_root=config.run_dir.root,
                                             run_id=config.run_id))
    bus = EventBus(config.run_id, sinks, first_seq=last_seq(config.run_dir.progress) + 1)
    if on_event is not None:
        bus.subscribe(on_event)
    return bus

