"""Entry point of the ``attractor-handlers`` distribution (group ``attractor``)."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("attractor")
