"""Lint rules of the stage handlers' attributes, contributed by this distribution.

* ``tool_command_present`` (warning): a tool node has a command to run;
* ``prompt_on_llm_nodes`` (warning, spec §7.2): a codergen node, the LLM stage,
  has a prompt (a label alone becomes the whole prompt);
* ``attribute_value`` (error), for the attributes these handlers own: the
  simulate backend's ``sim.*`` script and the human gate's ``human.timeout``
  parse, as the kernel's rule of that name checks the kernel's attributes.
  The fan-out's and the manager loop's counts are checked by their own rules
  (``parallel_policy``, ``manager_loop_config``), with the handlers' parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from attractor_core.sdk import (
    Diagnostic,
    Duration,
    FailureClass,
    Graph,
    Node,
    OutcomeTokenError,
    Severity,
    ValueFormatError,
    is_exit,
    is_start,
    node_value_errors,
    normalize_failure_class,
    parse_outcome,
)


def _warning(rule: str, node: Node, message: str, fix: str) -> Diagnostic:
    return Diagnostic(rule, Severity.WARNING, message, node_id=node.id, fix=fix, line=node.line)


def tool_command_present(graph: Graph) -> list[Diagnostic]:
    return [
        _warning("tool_command_present", n,
                 f"tool node {n.id} has no tool_command, so it will fail when run",
                 f'add tool_command="..." to {n.id}')
        for n in graph.nodes_of_type("tool") if not n.attrs.get("tool_command", "").strip()
    ]


def prompt_on_llm_nodes(graph: Graph) -> list[Diagnostic]:
    """Codergen nodes are the LLM stages; each needs a prompt."""
    out: list[Diagnostic] = []
    for node in graph.nodes_of_type("codergen"):
        if node.prompt or is_start(node) or is_exit(node):
            continue
        given = (
            f"only its label {node.attrs['label']!r}" if node.attrs.get("label") else "only its id"
        )
        out.append(_warning("prompt_on_llm_nodes", node,
                            f"LLM node {node.id} has no prompt; the model will get {given}",
                            f'add prompt="..." to {node.id}, or give it another shape/type'))
    return out


def _check_status_list(text: str) -> None:
    """``sim.outcome``: one outcome token or a comma list of them, any case."""
    for entry in (e for e in text.split(",") if e.strip()):
        try:
            parse_outcome(entry)
        except OutcomeTokenError as exc:
            raise ValueFormatError(str(exc)) from None


def _check_json_object(text: str) -> None:
    import json  # only for nodes that set a JSON attribute

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueFormatError(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueFormatError('must be a JSON object, e.g. {"key": "value"}')


def _check_failure_class(text: str) -> None:
    # The alias table the engine applies to failure-class hints.
    if not normalize_failure_class(text):
        raise ValueFormatError(
            f"invalid failure class {text!r}: use one of "
            + ", ".join(c.value for c in FailureClass)
        )


def _check_duration(text: str) -> None:
    Duration.parse(text)


TYPED: Mapping[str, Callable[[str], None]] = {
    "sim.delay": _check_duration,
    "sim.outcome": _check_status_list,
    "sim.context_updates": _check_json_object,
    "sim.failure_class": _check_failure_class,
    "human.timeout": _check_duration,
}


def attribute_value(graph: Graph) -> list[Diagnostic]:
    return node_value_errors(graph, TYPED)


STAGE_RULES: tuple[Callable[[Graph], list[Diagnostic]], ...] = (
    prompt_on_llm_nodes, attribute_value, tool_command_present)
