"""Entry point of the ``attractor-plugins`` distribution (group ``attractor``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pluggy

from attractor_plugins.sinks.progress_ndjson import ProgressNdjsonSink

hookimpl = pluggy.HookimplMarker("attractor")


@hookimpl
def attractor_event_sinks(logs_root: Path, run_id: str) -> Sequence[ProgressNdjsonSink]:
    return [ProgressNdjsonSink(logs_root)]
