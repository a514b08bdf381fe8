"""The engine's :class:`~attractor_core.engine.services.SubRuns`: parallel branches and
child runs, which run the traversal again.

Only the top of the engine (``api``, ``resume``) imports this module; it hands
:data:`SUBRUNS` to the run's services, and a child run inherits it from its parent.
"""

from __future__ import annotations

from attractor_core.model import Context
from attractor_core.model.branch import BranchResult

from .branches import finished_branches, run_branch
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
    open_child = staticmethod(open_child)


SUBRUNS: SubRuns = _EngineSubRuns()
