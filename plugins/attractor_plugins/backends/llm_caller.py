"""Every LLM call of one stage, through the run's failover policy.

The policy comes from the ``attractor_failover_policy`` hook (``[llm.failover]
policy``, default ``none``). After a failover the stage stays on the new
target for its remaining calls, and ``provider_used.json`` follows it.
The failover loop emits ``provider_selected`` and ``llm_failover``.

Calls are streamed: every text or reasoning delta is stage output for the
liveness machinery, so a long generation is never mistaken for a stall,
and a silent stream is caught by the client's ``stream_read`` deadline
rather than by a whole-request timeout.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from types import SimpleNamespace
from typing import Any, cast

import attrs

from attractor_core.sdk import RunSettings, StageRun, write_json_atomic
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.errors import StreamError
from attractor_plugins.llm.failover import (
    FailoverPolicy,
    Target,
    call_with_failover,
    policy_from_plugins,
)
from attractor_plugins.llm.types import Request, Response, StreamEvent, StreamEventType


def run_policy(run: RunSettings, config: LlmConfig) -> FailoverPolicy:
    """The failover policy named in the config, from whichever plugin provides it."""
    return policy_from_plugins(SimpleNamespace(hook=run.plugin_hook()), config)


class LlmCaller:
    def __init__(self, client: Client, policy: FailoverPolicy, target: Target, *,
                 node_id: str, run: StageRun, reason: str, on_output: Callable[[int], None]):
        self._client = client
        self._on_output = on_output
        self._policy = policy
        self._node_id = node_id
        self._run = run
        self._reason = reason
        self.target = target
        self._record()

    async def complete(self, request: Request) -> Response:
        request = attrs.evolve(request, provider=self.target.provider, model=self.target.model)
        response, used = await call_with_failover(
            self._streamed, request, self._policy,
            default_provider=self.target.provider, available=tuple(self._client.providers),
            node_id=self._node_id, backend="api", emit=self._run.emit)
        if used != self.target:
            self.target, self._reason = used, f"failover:{self._policy.name}"
            self._record()
        return response

    async def _streamed(self, request: Request) -> Response:
        """One streamed call, returning the response the FINISH event carries."""
        # Client.stream is an async generator; close it so the connection is released early.
        stream = cast(AsyncGenerator[StreamEvent, None], self._client.stream(request))
        async with aclosing(stream) as events:
            async for event in events:
                grown = len(event.delta or "") + len(event.reasoning_delta or "")
                if grown:
                    self._on_output(grown)
                if event.type == StreamEventType.FINISH and event.response is not None:
                    return event.response
        raise StreamError("stream ended without a finish event", provider=self.target.provider)

    def _record(self) -> None:
        used: dict[str, Any] = {"backend": "api", "provider": self.target.provider,
                                "model": self.target.model, "reason": self._reason,
                                "failover_policy": self._policy.name}
        write_json_atomic(self._run.stage_dir / "provider_used.json", used)
