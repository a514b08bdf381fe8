"""Entry point of the ``attractor-handlers`` distribution (group ``attractor``).

Registers the built-in node handlers, the ``simulate`` codergen backend and
the built-in interviewers. Every call returns fresh handler instances, so
two runs never share handler state. Nothing is imported until a hook asks for
it, and a handler's module only when it first executes: ``attractor
validate`` needs the node types, not trio and the handlers' code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from attractor_core.registry import DeferredHandler

hookimpl = pluggy.HookimplMarker("attractor")

HANDLERS: Mapping[str, str] = {
    "start": "attractor_handlers.start_exit:StartHandler",
    "exit": "attractor_handlers.start_exit:ExitHandler",
    "conditional": "attractor_handlers.conditional:ConditionalHandler",
    "tool": "attractor_handlers.tool:ToolHandler",
    "wait.human": "attractor_handlers.human:WaitForHumanHandler",
    "codergen": "attractor_handlers.codergen:CodergenHandler",
    "parallel": "attractor_handlers.parallel:ParallelHandler",
    "parallel.fan_in": "attractor_handlers.fan_in:FanInHandler",
    "subgraph": "attractor_handlers.subgraph:SubgraphHandler",
    "stack.manager_loop": "attractor_handlers.manager_loop:ManagerLoopHandler",
}


@hookimpl
def attractor_handler_types() -> Mapping[str, Any]:
    return {name: DeferredHandler(factory) for name, factory in HANDLERS.items()}


@hookimpl
def attractor_lint_rules() -> Sequence[Any]:
    from attractor_handlers.concurrency_rules import concurrency_rules

    return concurrency_rules()


@hookimpl
def attractor_codergen_backends() -> Mapping[str, Any]:
    from attractor_handlers.backends.simulate import SimulateBackend

    return {"simulate": SimulateBackend()}


@hookimpl
def attractor_make_interviewer(spec: str) -> Any | None:
    from attractor_handlers import interviewers

    return interviewers.make_interviewer(spec)
