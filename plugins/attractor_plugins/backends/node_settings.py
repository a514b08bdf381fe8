"""The node attributes the real codergen backends read, parsed in one place.

Used by the backends at run time and by the ``codergen_backend_attrs``
lint rule at validation time, so a typo is reported by ``attractor
validate`` with the same words the run would fail with. Kept free of heavy
imports (no HTTP client, no JSON Schema) because validation loads it.
"""

from __future__ import annotations

from attractor_core.sdk import AttributeSpec, Context, Duration, Node, Record, ValueFormatError

MODES = ("agent", "oneshot")
CLI_AGENTS = ("claude", "codex", "gemini")

# Also read from the graph when the node does not set them.
GRAPH_ATTRIBUTES = (
    AttributeSpec("cli.idle_timeout", "duration", "5m", "cli: stop after this long without "
                  "output growth."),
    AttributeSpec("cli.total_timeout", "duration", "20m", "cli: stop after this long."),
    AttributeSpec("tool_hooks.pre", "string", "", "api agent: shell command before each tool "
                  "call; failing skips the call."),
    AttributeSpec("tool_hooks.post", "string", "", "api agent: shell command after each tool "
                  "call."),
    AttributeSpec("max_cost_usd", "float", "", "api/cli: on the graph, stop the run once its "
                  "LLM calls cost more (USD); on a node, fail it budget_exhausted once its "
                  "calls cost more, across retries and visits."),
)
# Run budgets only: the graph's (docs/llm.md#budgets).
RUN_BUDGET_ATTRIBUTES = (
    AttributeSpec("max_tokens", "integer", "", "api/cli: stop the run once its LLM calls used "
                  "more input + output tokens (on a node, max_tokens is that node's output "
                  "limit per call instead)."),
    AttributeSpec("max_total_tokens", "integer", "", "api/cli: another name of the graph's "
                  "max_tokens (the run's token budget)."),
    AttributeSpec("max_llm_calls", "integer", "", "api/cli: stop the run before one more LLM "
                  "call would exceed this many."),
)
# What the api and cli backends read on the nodes that use them.
ATTRIBUTES = (
    *GRAPH_ATTRIBUTES,
    AttributeSpec("codergen.mode", "|".join(MODES), "agent",
                  "api: the coding-agent loop, or one completion.", ("agent_mode",)),
    AttributeSpec("agent.max_rounds", "integer", "200", "api agent: tool rounds before the "
                  "stage fails budget_exhausted.", ("max_agent_turns",)),
    AttributeSpec("agent.command_timeout", "duration", "10s", "api agent: shell timeout when "
                  "the model gives none."),
    AttributeSpec("agent.max_command_timeout", "duration", "10m", "api agent: upper bound on "
                  "any shell timeout."),
    AttributeSpec("fidelity.full_max_chars", "integer", "200000", "api: history size above "
                  "which a full-fidelity thread is compacted."),
    AttributeSpec("cli.agent", "|".join(CLI_AGENTS), "the provider's",
                  "cli: which agent CLI runs the stage.", ("agent_tool",)),
)


class NodeSettingError(ValueError):
    """A backend attribute of a node cannot be understood; the message names node and key."""


class AgentLimits(Record):
    __match_args__ = __slots__ = ("max_rounds", "command_timeout_ms", "max_command_timeout_ms")
    max_rounds: int
    command_timeout_ms: int
    max_command_timeout_ms: int

    def __init__(self, max_rounds: int = 200, command_timeout_ms: int = 10_000,
                 max_command_timeout_ms: int = 600_000) -> None:
        object.__setattr__(self, "max_rounds", max_rounds)
        object.__setattr__(self, "command_timeout_ms", command_timeout_ms)
        object.__setattr__(self, "max_command_timeout_ms", max_command_timeout_ms)


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
