"""The events of the LLM call controls (documented in docs/events.md)."""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from attractor_core.sdk import Event


@frozen
class LlmRetry(Event):
    """The client retries a failed LLM call after ``delay_ms`` (``attempt`` counts from 1)."""

    name: ClassVar[str] = "llm_retry"
    node_id: str
    provider: str
    model: str
    attempt: int
    delay_ms: int
    error_type: str
    error: str


CALL_EVENTS: tuple[type[Event], ...] = (LlmRetry,)
