"""The ``codergen_backend_attrs`` lint rule: backend attributes of codergen nodes must parse.

``codergen.mode``, ``agent.max_rounds``, ``agent.command_timeout``,
``agent.max_command_timeout``, ``cli.agent``, ``cli.idle_timeout`` and
``cli.total_timeout``, ``max_tokens``, ``temperature`` and ``provider_options``
are checked with the parsers the backends use, so
``attractor validate`` reports what the run would otherwise fail on.
"""

from __future__ import annotations

from collections.abc import Sequence

from attractor_core.sdk import Context, Diagnostic, Graph, Node, Severity

from .call_controls import ATTRIBUTES as CONTROL_ATTRIBUTES
from .call_controls import call_controls
from .node_settings import ATTRIBUTES as SETTING_ATTRIBUTES
from .node_settings import NodeSettingError, check_node

FIX = "see docs/llm.md, section Codergen backends, for the accepted values"
# Every node attribute the checks read. A node that sets none of them passes or fails
# only through the graph's attributes, which are the same for every such node.
_READ = frozenset(spec.name for spec in (*SETTING_ATTRIBUTES, *CONTROL_ATTRIBUTES))


class BackendAttributesRule:
    name = "codergen_backend_attrs"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        found: list[Diagnostic] = []
        graph_context = Context({f"graph.{k}": v for k, v in graph.attrs.items()})
        # Whether a codergen node that sets no backend attribute passes: checked on the
        # first such node, taken for the others when it passes (the error message names
        # the node, so a failing graph attribute is still reported for each of them).
        bare_passes = False
        for node in graph.nodes_of_type("codergen"):
            bare = _READ.isdisjoint(node.attrs)
            if bare and bare_passes:
                continue
            problem = _problem(node, graph_context)
            if problem is None:
                bare_passes = bare_passes or bare
                continue
            found.append(Diagnostic(self.name, Severity.ERROR, problem, node_id=node.id,
                                    fix=FIX, line=node.line))
        return found


def _problem(node: Node, graph_context: Context) -> str | None:
    """The first wrong backend attribute of ``node`` (or of the graph, for it), if any."""
    try:
        check_node(node)
        call_controls(node, graph_context)
    except NodeSettingError as exc:
        return str(exc)
    return None
