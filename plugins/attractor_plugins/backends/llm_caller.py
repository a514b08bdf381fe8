"""Every LLM call of one stage, through the run's failover policy.

The policy comes from the ``attractor_failover_policy`` hook (``[llm.failover]
policy``, default ``none``). After a failover the stage stays on the new
target for its remaining calls, and ``provider_used.json`` follows it.
The failover loop emits ``provider_selected`` and ``llm_failover``.

Calls are streamed: every text or reasoning delta is stage output for the
liveness machinery, so a long generation is never mistaken for a stall,
and a silent stream is caught by the client's ``stream_read`` deadline
rather than by a whole-request timeout.

With a ``StageSpend`` every call is accounted for and checked against the
budgets (``spend``): a call that fails after its stream began is counted
with unknown usage (the provider may bill it); one that never got an answer
is not.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from types import SimpleNamespace
from typing import Any, cast

import attrs

from attractor_core.sdk import RunSettings, StageRun, write_json_atomic
from attractor_plugins.llm.accounting import CallUsage, estimate_tokens, from_unified
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

from .spend import StageSpend


def run_policy(run: RunSettings, config: LlmConfig) -> FailoverPolicy:
    """The failover policy named in the config, from whichever plugin provides it."""
    return policy_from_plugins(SimpleNamespace(hook=run.plugin_hook()), config)


class LlmCaller:
    def __init__(self, client: Client, policy: FailoverPolicy, target: Target, *,
                 node_id: str, run: StageRun, reason: str, on_output: Callable[[int], None],
                 spend: StageSpend | None = None):
        self._client = client
        self._spend = spend
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
        """One streamed call, accounted for when the stage keeps accounts."""
        spend = self._spend
        if spend is None:
            return await self._stream_once(request)
        await spend.before_call()
        received = [0]
        try:
            response = await self._stream_once(request, received)
        except BaseException as exc:
            if received[0]:
                spend.record(_unknown(request, received[0], f"{type(exc).__name__}: {exc}"))
            raise
        call = from_unified(request.provider or "", request.model, response.usage,
                            spend.protocol_of(request.provider or ""))
        if not call.known:
            call = _unknown(request, len(response.text) + len(response.reasoning or ""), "")
        await spend.after_call(call)
        return response

    async def _stream_once(self, request: Request,
                           received: list[int] | None = None) -> Response:
        """One streamed call, returning the response the FINISH event carries."""
        # Client.stream is an async generator; close it so the connection is released early.
        stream = cast(AsyncGenerator[StreamEvent, None], self._client.stream(request))
        async with aclosing(stream) as events:
            async for event in events:
                grown = len(event.delta or "") + len(event.reasoning_delta or "")
                if received is not None:
                    received[0] += grown or 1
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


def _unknown(request: Request, received_chars: int, error: str) -> CallUsage:
    """A call without reported usage, sized from the text sent and received."""
    sent = sum(len(m.text) for m in request.messages)
    return CallUsage(request.provider or "", request.model,
                     estimated_tokens=estimate_tokens(sent + received_chars), error=error)
