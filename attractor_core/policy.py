"""``RunPolicy``: the liveness and timeout settings of one run.

Each key comes from, in order of precedence: the CLI flag, the config
file, the graph attribute, the default (docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from attrs import frozen

from attractor_core.model import Duration, Graph, ValueFormatError

KEYS = ("stall_timeout", "stall_check_interval", "stage_timeout", "heartbeat_interval",
        "kill_grace")


@frozen
class RunPolicy:
    stall_timeout: Duration = Duration(600_000)  # noqa: RUF009 - immutable; 0 disables the stall watchdog
    stall_check_interval: Duration = Duration(5_000)  # noqa: RUF009 - immutable
    stage_timeout: Duration | None = None  # cap on every node's timeout
    heartbeat_interval: Duration | None = None  # None: stall_timeout / 3, held in [50ms, 60s]
    kill_grace: Duration = Duration(2_000)  # noqa: RUF009 - immutable

    @classmethod
    def resolve(cls, graph: Graph, config: Mapping[str, str] = {},
                cli: Mapping[str, str] = {}) -> RunPolicy:
        """Build from CLI > config > graph > defaults; raises ValueFormatError on bad values."""
        values: dict[str, Duration] = {}
        sources = (("command line", cli), ("config file", config), ("graph", graph.attrs))
        for key in KEYS:
            for origin, source in sources:
                raw = source.get(key)
                if raw is None or str(raw).strip() == "":
                    continue
                try:
                    values[key] = Duration.parse(str(raw))
                except ValueFormatError as exc:
                    raise ValueFormatError(f"{key} (from the {origin}): {exc}") from None
                break
        return attrs.evolve(cls(), **values)

    @property
    def effective_heartbeat(self) -> Duration:
        if self.heartbeat_interval is not None:
            return self.heartbeat_interval
        third = self.stall_timeout.ms // 3 if self.stall_timeout.ms else 60_000
        return Duration(min(max(third, 50), 60_000))

    def stage_deadline(self, node_timeout: Duration | None) -> Duration | None:
        """The smaller of the node's ``timeout`` and the policy's ``stage_timeout``."""
        candidates = [d for d in (node_timeout, self.stage_timeout) if d is not None and d.ms > 0]
        return min(candidates) if candidates else None
