"""Entry point of the Dask executor (entry-point group ``attractor``, name ``dask_executor``).

Only names the schemes: ``distributed`` (and trio) load when a run opens the executor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from attractor_core.sdk import Executor

hookimpl = pluggy.HookimplMarker("attractor")


@asynccontextmanager
async def open_dask(spec: str, logs_root: Path) -> AsyncIterator[Executor]:
    try:
        from attractor_plugins.dask_executor.executor import connected
    except ImportError as exc:
        from attractor_core.sdk import UsageError

        raise UsageError(f"--executor {spec}: the Dask executor needs the 'distributed' "
                         f"package ({exc}); install it with pip install "
                         "'attractor-plugins[dask]'") from None
    async with connected(spec) as executor:
        yield executor


@hookimpl
def attractor_executors() -> Mapping[str, Any]:
    return {"dask": open_dask, "dask-local": open_dask}
