"""Every LLM call of one stage, through the run's failover policy.

The policy comes from the ``attractor_failover_policy`` hook (``[llm.failover]
policy``, default ``none``). After a failover the stage stays on the new
target for its remaining calls, and ``provider_used.json`` follows it.
The failover loop emits ``provider_selected`` and ``llm_failover``.

Calls are streamed: every text or reasoning delta is stage output for the
liveness machinery, so a long generation is never mistaken for a stall,
and a silent stream is caught by the client's ``stream_read`` deadline
rather than by a whole-request timeout.

Each request gets the stage's call controls (``max_tokens``,
``temperature``, ``provider_options``). An answer cut at the output limit
(finish reason ``length``) is reported with a ``warning`` event and
``truncated`` stays true until a later call of the stage ends normally. A
call that fails or is cancelled mid-stream leaves what arrived in
``response.md`` and ``api_response.json`` (``"complete": false`` with
``incomplete_reason``). Every retry inside the client is an ``llm_retry``
event (:class:`RetryReporter` is the client's retry observer).

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
import trio

from attractor_core.sdk import (
    RunSettings,
    StageRun,
    Warning,
    write_json_atomic,
    write_text_atomic,
)
from attractor_plugins.llm.accounting import CallUsage, estimate_tokens
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.errors import AbortError, RequestTimeoutError, SDKError, StreamError
from attractor_plugins.llm.failover import (
    FailoverPolicy,
    Target,
    call_with_failover,
    policy_from_plugins,
)
from attractor_plugins.llm.types import Request, Response, StreamEvent, StreamEventType

from .call_controls import CallControls
from .call_events import LlmRetry
from .spend import StageSpend


def run_policy(run: RunSettings, config: LlmConfig) -> FailoverPolicy:
    """The failover policy named in the config, from whichever plugin provides it."""
    return policy_from_plugins(SimpleNamespace(hook=run.plugin_hook()), config)


class RetryReporter:
    """The client's retry observer: one ``llm_retry`` event per retry of the stage's calls."""

    def __init__(self, run: StageRun, node_id: str, target: Target):
        self._run = run
        self._node_id = node_id
        self.target = target  # the call in flight (the caller updates it)

    def __call__(self, error: SDKError, attempt: int, delay: float) -> None:
        self._run.emit(LlmRetry(self._node_id, error.provider_name or self.target.provider,
                                self.target.model, attempt, round(delay * 1000),
                                type(error).__name__, str(error)[:500]))


class LlmCaller:
    def __init__(self, client: Client, policy: FailoverPolicy, target: Target, *,
                 node_id: str, run: StageRun, reason: str, on_output: Callable[[int], None],
                 controls: CallControls | None = None,
                 retries: RetryReporter | None = None,
                 spend: StageSpend | None = None):
        self._client = client
        self._controls = controls or CallControls()
        self._retries = retries
        self._spend = spend
        self.truncated = False
        self._on_output = on_output
        self._policy = policy
        self._node_id = node_id
        self._run = run
        self._reason = reason
        self.target = target
        self._record()

    async def complete(self, request: Request) -> Response:
        request = self.prepare(request)
        response, used = await call_with_failover(
            self._streamed, request, self._policy,
            default_provider=self.target.provider, available=tuple(self._client.providers),
            node_id=self._node_id, backend="api", emit=self._run.emit)
        if used != self.target:
            self.target, self._reason = used, f"failover:{self._policy.name}"
            self._record()
        self.truncated = response.finish_reason.reason == "length"
        if self.truncated:
            limit = (f"max_tokens {request.max_tokens}" if request.max_tokens is not None
                     else "the provider's default max_tokens")
            self._run.emit(Warning(
                f"node {self._node_id}: the answer of {used.provider}/{used.model} was cut at "
                f"the output limit ({limit}, finish reason "
                f"{response.finish_reason.raw or 'length'}); raise max_tokens or ask for less",
                self._node_id))
        return response

    def prepare(self, request: Request) -> Request:
        """``request`` as it is sent: on the current target, with the stage's call controls."""
        return attrs.evolve(request, provider=self.target.provider, model=self.target.model,
                            **_controlled(request, self._controls))

    async def _streamed(self, request: Request) -> Response:
        """One streamed call, accounted for when the stage keeps accounts."""
        spend = self._spend
        if spend is None:
            return await self._stream_once(request)
        if spend.checked and not spend.quiet():
            await spend.before_call()
        received: list[int] = []
        try:
            response = await self._stream_once(request, received)
        except BaseException as exc:
            if received:
                spend.record(_unknown(request, received[0], f"{type(exc).__name__}: {exc}"))
            raise
        if response.usage.raw:
            if not spend.record_usage(request.provider or "", request.model, response.usage):
                await spend.check_budgets()
        else:  # the provider reported no usage
            await spend.after_call(
                _unknown(request, len(response.text) + len(response.reasoning or ""), ""))
        return response

    async def _stream_once(self, request: Request,
                           received: list[int] | None = None) -> Response:
        """One streamed call, returning the response the FINISH event carries. When it
        fails after its stream began, ``received`` gets the characters that arrived."""
        if self._retries is not None:
            self._retries.target = Target(request.provider or self.target.provider, request.model)
        text: list[str] = []
        reasoning: list[str] = []
        event: StreamEvent | None = None
        # Client.stream is an async generator; close it so the connection is released early.
        stream = cast(AsyncGenerator[StreamEvent, None], self._client.stream(request))
        try:
            async with aclosing(stream) as events:
                async for event in events:
                    grown = len(event.delta or "") + len(event.reasoning_delta or "")
                    if grown:
                        self._on_output(grown)
                    if event.type == StreamEventType.TEXT_DELTA and event.delta:
                        text.append(event.delta)
                    elif event.reasoning_delta:
                        reasoning.append(event.reasoning_delta)
                    if event.type == StreamEventType.FINISH and event.response is not None:
                        return event.response
            raise StreamError("stream ended without a finish event",
                              provider=self.target.provider)
        except BaseException as exc:  # trio.Cancelled too: keep what arrived, then go on
            partial, thought = "".join(text), "".join(reasoning)
            if received is not None and event is not None:
                received.append(len(partial) + len(thought))
            self._keep_partial(request, partial, thought, exc)
            raise

    def _keep_partial(self, request: Request, text: str, reasoning: str,
                      error: BaseException) -> None:
        """What a failed or cancelled call delivered, marked incomplete."""
        write_text_atomic(self._run.stage_dir / "response.md", text)
        write_json_atomic(self._run.stage_dir / "api_response.json", {
            "complete": False, "incomplete_reason": incomplete_reason(error),
            "error": f"{type(error).__name__}: {error}"[:2000],
            "provider": request.provider or self.target.provider, "model": request.model,
            "text": text, "reasoning": reasoning})

    def _record(self) -> None:
        used: dict[str, Any] = {"backend": "api", "provider": self.target.provider,
                                "model": self.target.model, "reason": self._reason,
                                "failover_policy": self._policy.name}
        write_json_atomic(self._run.stage_dir / "provider_used.json", used)


def incomplete_reason(error: BaseException) -> str:
    """Why a call ended early: canceled, timeout, aborted, stream_broken or error."""
    if isinstance(error, trio.Cancelled):
        return "canceled"
    if isinstance(error, RequestTimeoutError):
        return "timeout"
    if isinstance(error, AbortError):
        return "aborted"
    if isinstance(error, StreamError):
        return "stream_broken"
    return "error"


def _controlled(request: Request, controls: CallControls) -> dict[str, Any]:
    """The request fields the stage's controls set (a request's own values win)."""
    changes: dict[str, Any] = {}
    if request.max_tokens is None and controls.max_tokens is not None:
        changes["max_tokens"] = controls.max_tokens
    if request.temperature is None and controls.temperature is not None:
        changes["temperature"] = controls.temperature
    if controls.provider_options:
        merged = {k: dict(v) for k, v in controls.provider_options.items()}
        for provider, values in request.provider_options.items():
            merged.setdefault(provider, {}).update(values)
        changes["provider_options"] = merged
    return changes


def _unknown(request: Request, received_chars: int, error: str) -> CallUsage:
    """A call without reported usage, sized from the text sent and received."""
    sent = sum(len(m.text) for m in request.messages)
    return CallUsage(request.provider or "", request.model,
                     estimated_tokens=estimate_tokens(sent + received_chars), error=error)
