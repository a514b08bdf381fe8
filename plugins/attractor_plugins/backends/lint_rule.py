"""The ``codergen_backend_attrs`` lint rule: backend attributes of codergen nodes must parse.

``codergen.mode``, ``agent.max_rounds``, ``agent.command_timeout``,
``agent.max_command_timeout``, ``cli.agent``, ``cli.idle_timeout`` and
``cli.total_timeout``, ``max_tokens``, ``temperature`` and ``provider_options``
are checked with the parsers the backends use, so
``attractor validate`` reports what the run would otherwise fail on.
"""

from __future__ import annotations

from collections.abc import Sequence

from attractor_core.sdk import Diagnostic, Graph, Severity

from .call_controls import check_controls
from .node_settings import NodeSettingError, check_node

FIX = "see docs/llm.md, section Codergen backends, for the accepted values"


class BackendAttributesRule:
    name = "codergen_backend_attrs"

    def apply(self, graph: Graph) -> Sequence[Diagnostic]:
        found: list[Diagnostic] = []
        for node in graph.nodes.values():
            if node.handler_type != "codergen":
                continue
            try:
                check_node(node)
                check_controls(node, graph.attrs)
            except NodeSettingError as exc:
                found.append(Diagnostic(self.name, Severity.ERROR, str(exc), node_id=node.id,
                                        fix=FIX, line=node.line))
        return found
