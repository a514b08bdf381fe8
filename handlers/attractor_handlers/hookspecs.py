"""The hooks the built-in handlers call, declared by ``attractor-handlers``.

The codergen handler asks for its backends and the human gate for its
interviewer through these; the kernel never calls them. The entry point
registers them through ``attractor_add_hookspecs`` as it is loaded, so any
plugin registered with it implements them exactly like a kernel hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from attractor_core.sdk import CodergenBackend

hookspec = pluggy.HookspecMarker("attractor")


@hookspec
def attractor_codergen_backends() -> Mapping[str, CodergenBackend]:
    """Contribute codergen backends by name (``"simulate"``, ``"api"``, ``"cli"``).

    Called once when the codergen handler first needs a backend, and by its
    preflight. The run option ``backend`` (``--backend``) picks one;
    ``simulate`` is the default. When two plugins contribute the same name,
    the plugin registered later wins.
    """


@hookspec(firstresult=True)
def attractor_make_interviewer(spec: str) -> Any | None:
    """Build the interviewer named by ``spec`` (``auto``, ``console``, ``queue:FILE``...).

    Called once per run that reaches a human gate, and by the gate's
    preflight before the run starts. Return an object with ``async
    ask(question) -> Answer`` and ``inform(message, stage)``, or ``None`` if
    ``spec`` is not yours. A spec nobody knows refuses the run (exit 2).
    """
