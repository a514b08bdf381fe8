"""Entry point of the ``attractor-handlers`` distribution (group ``attractor``).

Registers the built-in node handlers, the ``simulate`` codergen backend and
the built-in interviewers, and declares the hooks the handlers call
(``hookspecs.py``), their attributes, lint rules and events. Every call
returns fresh handler instances, so two runs never share handler state.
Nothing is imported until a hook asks for it, and a handler's module only
when it first executes: ``attractor validate`` needs the node types, not
trio and the handlers' code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from attractor_core.sdk import DeferredHandler

hookimpl = pluggy.HookimplMarker("attractor")

# Each handler's class and the declarations validation and routing read without importing it
# (tests/handlers/test_handler_declarations.py checks they match the classes).
_ROUTES: dict[str, Any] = {"custom_outcomes": False, "routes_outcome": True}
_FIXED: dict[str, Any] = {"custom_outcomes": False}
_OPEN: dict[str, Any] = {"custom_outcomes": True}
HANDLERS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "start": ("attractor_handlers.start_exit:StartHandler", _FIXED),
    "exit": ("attractor_handlers.start_exit:ExitHandler", _FIXED),
    "conditional": ("attractor_handlers.conditional:ConditionalHandler", _ROUTES),
    "tool": ("attractor_handlers.tool:ToolHandler", {**_OPEN, "retries_any_failure": True}),
    "wait.human": ("attractor_handlers.human:WaitForHumanHandler", _FIXED),
    "codergen": ("attractor_handlers.codergen:CodergenHandler", _OPEN),
    "parallel": ("attractor_handlers.parallel:ParallelHandler", {**_FIXED, "fans_out": True}),
    "parallel.fan_in": ("attractor_handlers.fan_in:FanInHandler", _FIXED),
    "subgraph": ("attractor_handlers.subgraph:SubgraphHandler", _FIXED),
    "stack.manager_loop": ("attractor_handlers.manager_loop:ManagerLoopHandler", _FIXED),
}


@hookimpl
def attractor_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """``attractor_codergen_backends`` and ``attractor_make_interviewer``: the hooks the
    codergen handler and the human gate call."""
    from attractor_handlers import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def attractor_handler_types() -> Mapping[str, Any]:
    return {name: DeferredHandler(factory, **declared)
            for name, (factory, declared) in HANDLERS.items()}


@hookimpl
def attractor_attribute_schema() -> Mapping[str, Sequence[Any]]:
    """Each handler's attributes; the fan-in's ranker runs on the codergen backend, so the
    simulate backend's attributes apply to both."""
    from attractor_core.sdk import GRAPH
    from attractor_handlers import attribute_schema as schema

    return {
        "start": (), "exit": (), "conditional": (),
        "tool": schema.TOOL,
        "wait.human": schema.HUMAN,
        "codergen": schema.SIMULATE,
        "parallel": schema.PARALLEL,
        "parallel.fan_in": schema.SIMULATE,
        "subgraph": schema.SUBGRAPH,
        "stack.manager_loop": schema.MANAGER_LOOP,
        GRAPH: (schema.TOOL_SHELL, *schema.MANAGER_LOOP_GRAPH),
    }


@hookimpl
def attractor_lint_rules() -> Sequence[Any]:
    from attractor_core.sdk import FunctionRule
    from attractor_handlers.concurrency_rules import concurrency_rules
    from attractor_handlers.routing_rules import RULE, failure_route, unrouted_diamond
    from attractor_handlers.stage_rules import STAGE_RULES

    return [*(FunctionRule(rule.__name__, rule) for rule in STAGE_RULES), *concurrency_rules(),
            FunctionRule(RULE, failure_route), FunctionRule("unrouted_diamond", unrouted_diamond)]


@hookimpl
def attractor_codergen_backends() -> Mapping[str, Any]:
    from attractor_handlers.backends.simulate import SimulateBackend

    return {"simulate": SimulateBackend()}


@hookimpl
def attractor_make_interviewer(spec: str) -> Any | None:
    from attractor_handlers import interviewers

    return interviewers.make_interviewer(spec)


@hookimpl
def attractor_event_types() -> Sequence[Any]:
    from attractor_handlers.events import HANDLER_EVENTS

    return HANDLER_EVENTS
