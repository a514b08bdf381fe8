"""The node attributes the real codergen backends read, parsed in one place.

Used by the backends at run time and by the ``codergen_backend_attrs``
lint rule at validation time, so a typo is reported by ``attractor
validate`` with the same words the run would fail with. Kept free of heavy
imports (no HTTP client, no JSON Schema) because validation loads it.
"""

from __future__ import annotations

from attrs import frozen

from attractor_core.model import Context, Node
from attractor_core.model.values import Duration, ValueFormatError

MODES = ("agent", "oneshot")
CLI_AGENTS = ("claude", "codex", "gemini")


class NodeSettingError(ValueError):
    """A backend attribute of a node cannot be understood; the message names node and key."""


@frozen
class AgentLimits:
    max_rounds: int = 200
    command_timeout_ms: int = 10_000
    max_command_timeout_ms: int = 600_000


def codergen_mode(node: Node) -> str:
    """``codergen.mode``: ``agent`` (default) or ``oneshot``."""
    mode = node.get("codergen.mode", "agent").strip().lower() or "agent"
    if mode not in MODES:
        raise NodeSettingError(f"node {node.id}: codergen.mode={mode!r} is not known; "
                               "use agent or oneshot")
    return mode


def agent_limits(node: Node) -> AgentLimits:
    raw = node.get("agent.max_rounds", "200").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise NodeSettingError(f"node {node.id}: agent.max_rounds={raw!r}: use a whole "
                               "number of at least 1")
    return AgentLimits(int(raw), duration_ms(node, Context(), "agent.command_timeout", 10_000),
                       duration_ms(node, Context(), "agent.max_command_timeout", 600_000))


def cli_agent_name(node: Node) -> str:
    """``cli.agent`` when set (claude, codex, gemini), else ""."""
    name = node.get("cli.agent").strip().lower()
    if name and name not in CLI_AGENTS:
        raise NodeSettingError(f"node {node.id}: cli.agent={name!r} is not known; use "
                               + ", ".join(CLI_AGENTS))
    return name


def duration_ms(node: Node, context: Context, key: str, default: int) -> int:
    """A duration attribute of the node, else of the graph (``graph.<key>``), else ``default``."""
    raw = (node.get(key) or context.get_string(f"graph.{key}")).strip()
    if not raw:
        return default
    try:
        return Duration.parse(raw).ms
    except ValueFormatError as exc:
        raise NodeSettingError(f"node {node.id}: {key}: {exc}") from None


def check_node(node: Node) -> None:
    """Raise NodeSettingError for the first backend attribute of ``node`` that is wrong."""
    codergen_mode(node)
    agent_limits(node)
    cli_agent_name(node)
    for key in ("cli.idle_timeout", "cli.total_timeout"):
        duration_ms(node, Context(), key, 0)
