"""The engine's :class:`~attractor_core.engine.services.SubRuns`: parallel branches and
child runs, which run the traversal again.

Only the top of the engine (``api``, ``resume``) imports this module; it hands
:data:`SUBRUNS` to the run's services, and a child run inherits it from its parent.
"""

from __future__ import annotations

from .branches import finished_branches, run_branch
from .children import open_child
from .services import SubRuns


class _EngineSubRuns:
    run_branch = staticmethod(run_branch)
    finished_branches = staticmethod(finished_branches)
    open_child = staticmethod(open_child)


SUBRUNS: SubRuns = _EngineSubRuns()
