"""The engine's :class:`~attractor_core.engine.services.SubRuns`: parallel branches and
child runs, which run the traversal again, here or on the run's executor.

Only the top of the engine (``api``, ``resume``) imports this module; it hands
:data:`SUBRUNS` to the run's services, and a child run inherits it from its parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from attractor_core.model import Context
from attractor_core.model.branch import BranchResult

from .branches import finished_branches, run_branch
from .child_dispatch import open_remote_child
from .children import open_child
from .dispatch import dispatch_branch
from .services import Lane, RunServices, SubRuns


class _EngineSubRuns:
    @staticmethod
    async def run_branch(services: RunServices, parent: Lane, *, node_id: str,
                         pass_number: int, start: str, join: str, key: str, index: int,
                         context: Context) -> BranchResult:
        """On the run's executor; in this process when it has none (``local``)."""
        executor = services.config.executor
        # A workspace that cannot serve branches elsewhere keeps them here.
        workspace = services.workspace
        if executor is None or (workspace is not None
                                and not getattr(workspace, "remote_branches", False)):
            return await run_branch(services, parent, node_id=node_id,
                                    pass_number=pass_number, start=start, join=join, key=key,
                                    index=index, context=context)
        return await dispatch_branch(services, executor, parent, node_id=node_id,
                                     pass_number=pass_number, start=start, join=join, key=key,
                                     index=index, context=context)

    finished_branches = staticmethod(finished_branches)

    @staticmethod
    def open_child(services: RunServices, lane: Lane, *, node_id: str, stage_dir: Path,
                   dot_path: Path, context: Mapping[str, Any] | None = None,
                   workdir: Path | None = None,
                   steered: bool = True) -> AbstractAsyncContextManager[Any]:
        """On the run's executor when its stage only waits for it (``steered=False``); in
        this process when the run has no executor, or the stage observes and steers the
        child live through its handle, which reads the child's memory."""
        executor = services.config.executor
        if executor is None or steered:
            return open_child(services, lane, node_id=node_id, stage_dir=stage_dir,
                              dot_path=dot_path, context=context, workdir=workdir)
        return open_remote_child(services, executor, lane, node_id=node_id,
                                 stage_dir=stage_dir, dot_path=dot_path, context=context,
                                 workdir=workdir)


SUBRUNS: SubRuns = _EngineSubRuns()
