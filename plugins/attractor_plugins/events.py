"""The events of the LLM layer (documented in docs/events.md).

The codergen backends and the failover policy emit these through
``run.emit``; the ``attractor_event_types`` hook of this distribution's entry
point declares them, so tooling that lists every event finds them without the
kernel knowing their names.
"""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from attractor_core.sdk import Event


@frozen
class ProviderSelected(Event):
    name: ClassVar[str] = "provider_selected"
    node_id: str
    backend: str
    provider: str
    model: str
    reason: str


@frozen
class LlmFailover(Event):
    name: ClassVar[str] = "llm_failover"
    node_id: str
    from_provider: str
    from_model: str
    to_provider: str
    to_model: str
    error_class: str
    policy: str


@frozen
class AgentToolCall(Event):
    """One tool call of the coding-agent loop; ``ok`` is false for an error result."""

    name: ClassVar[str] = "agent_tool_call"
    node_id: str
    round: int
    tool: str
    ok: bool
    error: str = ""


LLM_EVENTS: tuple[type[Event], ...] = (
    ProviderSelected,
    LlmFailover,
    AgentToolCall,
)
