"""Entry point of the ``attractor-handlers`` distribution (group ``attractor``).

Registers the built-in node handlers, the ``simulate`` codergen backend and
the built-in interviewers. Every call returns fresh handler instances, so
two runs never share handler state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from attractor_core.attributes import GRAPH, AttributeSpec
from attractor_handlers import human, interviewers, join_policies, manager_loop, subgraph, tool
from attractor_handlers.backends import simulate
from attractor_handlers.backends.simulate import SimulateBackend
from attractor_handlers.codergen import CodergenHandler
from attractor_handlers.concurrency_rules import concurrency_rules
from attractor_handlers.conditional import ConditionalHandler
from attractor_handlers.fan_in import FanInHandler
from attractor_handlers.human import WaitForHumanHandler
from attractor_handlers.manager_loop import ManagerLoopHandler
from attractor_handlers.parallel import ParallelHandler
from attractor_handlers.start_exit import ExitHandler, StartHandler
from attractor_handlers.subgraph import SubgraphHandler
from attractor_handlers.tool import ToolHandler

hookimpl = pluggy.HookimplMarker("attractor")


@hookimpl
def attractor_handler_types() -> Mapping[str, Any]:
    return {
        "start": StartHandler(),
        "exit": ExitHandler(),
        "conditional": ConditionalHandler(),
        "tool": ToolHandler(),
        "wait.human": WaitForHumanHandler(),
        "codergen": CodergenHandler(),
        "parallel": ParallelHandler(),
        "parallel.fan_in": FanInHandler(),
        "subgraph": SubgraphHandler(),
        "stack.manager_loop": ManagerLoopHandler(),
    }


@hookimpl
def attractor_attribute_schema() -> Mapping[str, Sequence[AttributeSpec]]:
    """Each handler's attributes; the fan-in's ranker runs on the codergen backend, so the
    simulate backend's attributes apply to both."""
    return {
        "start": (), "exit": (), "conditional": (),
        "tool": tool.ATTRIBUTES,
        "wait.human": human.ATTRIBUTES,
        "codergen": simulate.ATTRIBUTES,
        "parallel": join_policies.ATTRIBUTES,
        "parallel.fan_in": simulate.ATTRIBUTES,
        "subgraph": subgraph.ATTRIBUTES,
        "stack.manager_loop": manager_loop.ATTRIBUTES,
        GRAPH: (tool.SHELL_ATTRIBUTE, *manager_loop.GRAPH_ATTRIBUTES),
    }


@hookimpl
def attractor_lint_rules() -> Sequence[Any]:
    return concurrency_rules()


@hookimpl
def attractor_codergen_backends() -> Mapping[str, Any]:
    return {"simulate": SimulateBackend()}


@hookimpl
def attractor_make_interviewer(spec: str) -> Any | None:
    return interviewers.make_interviewer(spec)
