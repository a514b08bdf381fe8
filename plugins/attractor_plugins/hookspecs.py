"""The hooks the LLM layer calls, declared by ``attractor-plugins``.

The kernel never calls them. The entry point registers them through
``attractor_add_hookspecs`` as it is loaded, so any plugin registered with it
implements them exactly like a kernel hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("attractor")


@hookspec(firstresult=True)
def attractor_failover_policy(name: str, config: Mapping[str, Any]) -> Any | None:
    """Build the LLM failover policy called ``name`` from the run config.

    Called once per run that uses an LLM backend. Return a policy object,
    or ``None`` if this plugin does not know ``name``. Exactly one policy
    governs a run; an unknown name is a configuration error.
    """
