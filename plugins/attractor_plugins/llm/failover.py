"""Failover policies and the loop that applies one.

One policy governs a run, chosen by ``[llm.failover] policy``:

``none`` (default)
    Never changes provider or model.
``ordered``
    On a failover-eligible error, tries the next entry of the *primary*
    provider's ``[llm.providers.<p>] failover`` list. One hop: a target's
    own list is never followed. Entries are ``"provider"`` (its table's
    ``model``) or ``"provider/model"``. Targets whose key is not set are
    skipped.
``pinned``
    The run is pinned to ``[llm.failover] pinned = "P/M"`` (or, without it,
    to whatever each node asked for). A request for another provider/model,
    or a failover the config would have made (an eligible error on a
    provider that has a failover list), raises
    :class:`FailoverForbiddenError`: "failover forbidden by run policy:
    pinned provider/model P/M", classed deterministic. Other errors keep
    their own class.

Never eligible: authentication, access denied, invalid request, not found,
context length, content filter, configuration, tool-call and structured-
output errors, and aborts. Eligible: rate limits, server and unknown
provider errors, timeouts, network and stream errors, quota exhaustion.

Third-party policies come from the ``attractor_failover_policy(name,
config)`` hook; they implement :class:`FailoverPolicy`. The loop reports
through the caller's ``emit`` callback (the codergen backend passes
``run.emit``) and writes nothing itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs
from attrs import frozen

from attractor_plugins.events import LlmFailover, ProviderSelected

from .abort import AbortController
from .client import Client
from .config import LlmConfig
from .errors import (
    AbortError,
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    ContentFilterError,
    ContextLengthError,
    InvalidRequestError,
    InvalidToolCallError,
    NoObjectGeneratedError,
    NotFoundError,
    SDKError,
    UnsupportedToolChoiceError,
)
from .types import Request, Response

T = TypeVar("T")

NEVER_ELIGIBLE: tuple[type[SDKError], ...] = (
    AuthenticationError, AccessDeniedError, InvalidRequestError, NotFoundError,
    ContextLengthError, ContentFilterError, ConfigurationError, InvalidToolCallError,
    NoObjectGeneratedError, UnsupportedToolChoiceError, AbortError,
)


class FailoverForbiddenError(ConfigurationError):
    """A failover (or another provider/model) was attempted in a pinned run."""


@frozen
class Target:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def failover_eligible(error: SDKError) -> bool:
    return not isinstance(error, NEVER_ELIGIBLE)


class FailoverPolicy(Protocol):
    name: str

    def initial(self, requested: Target) -> Target:
        """The target to call first; may refuse ``requested`` by raising."""
        ...

    def next_target(self, failed: Target, error: SDKError, tried: Sequence[Target],
                    available: Collection[str]) -> Target | None:
        """Where to go after ``error`` on ``failed``; None means "raise the error"."""
        ...


class NoFailover:
    name = "none"

    def initial(self, requested: Target) -> Target:
        return requested

    def next_target(self, failed: Target, error: SDKError, tried: Sequence[Target],
                    available: Collection[str]) -> Target | None:
        return None


class OrderedFailover:
    name = "ordered"

    def __init__(self, chains: Mapping[str, Sequence[Target]]) -> None:
        self.chains = {k: tuple(v) for k, v in chains.items()}

    @classmethod
    def from_config(cls, config: LlmConfig) -> OrderedFailover:
        return cls({name: [parse_target(entry, config, f"[llm.providers.{name}] failover")
                           for entry in provider.failover or ()]
                    for name, provider in config.providers.items()})

    def initial(self, requested: Target) -> Target:
        return requested

    def next_target(self, failed: Target, error: SDKError, tried: Sequence[Target],
                    available: Collection[str]) -> Target | None:
        if not failover_eligible(error):
            return None
        primary = tried[0] if tried else failed
        for candidate in self.chains.get(primary.provider, ()):
            if candidate not in tried and candidate.provider in available:
                return candidate
        return None


class PinnedFailover:
    name = "pinned"

    def __init__(self, pinned: Target | None, chains: Mapping[str, Sequence[str]]) -> None:
        self.pinned = pinned
        self.chains = chains

    @classmethod
    def from_config(cls, config: LlmConfig) -> PinnedFailover:
        raw = config.failover.get("pinned", "")
        if not isinstance(raw, str):
            raise ConfigurationError(
                f"[llm.failover] pinned = {raw!r}: expected \"provider/model\"")
        pinned = parse_target(raw, config, "[llm.failover] pinned") if raw else None
        return cls(pinned, {n: p.failover or () for n, p in config.providers.items()})

    def initial(self, requested: Target) -> Target:
        if self.pinned is not None and requested != self.pinned:
            raise self._forbidden(self.pinned, f"a node asked for {requested}")
        return requested

    def next_target(self, failed: Target, error: SDKError, tried: Sequence[Target],
                    available: Collection[str]) -> Target | None:
        if failover_eligible(error) and self.chains.get(failed.provider):
            raise self._forbidden(failed, f"{type(error).__name__}: {error}") from error
        return None

    def _forbidden(self, pin: Target, why: str) -> FailoverForbiddenError:
        return FailoverForbiddenError(
            f"failover forbidden by run policy: pinned provider/model {pin} ({why})",
            provider=pin.provider)


def parse_target(entry: str, config: LlmConfig, where: str) -> Target:
    """``"provider/model"`` or ``"provider"`` (then the provider table's ``model``)."""
    provider, _, model = entry.partition("/")
    if not provider:
        raise ConfigurationError(f"{where}: {entry!r} is not \"provider\" or \"provider/model\"")
    model = model or config.provider(provider).model
    if not model:
        raise ConfigurationError(f"{where}: {entry!r} names no model: write "
                                 f"\"{provider}/<model>\" or set [llm.providers.{provider}] model",
                                 provider=provider)
    return Target(provider, model)


def builtin_policy(name: str, config: Mapping[str, Any] | LlmConfig) -> FailoverPolicy | None:
    """The built-in policy ``name`` for an ``[llm]`` table, or None for other names."""
    llm = config if isinstance(config, LlmConfig) else LlmConfig.from_table(config)
    if name == "none":
        return NoFailover()
    if name == "ordered":
        return OrderedFailover.from_config(llm)
    if name == "pinned":
        return PinnedFailover.from_config(llm)
    return None


def policy_from_plugins(pm: Any, config: LlmConfig) -> FailoverPolicy:
    """Ask the ``attractor_failover_policy`` hook; an unknown name is a ConfigurationError."""
    policy = pm.hook.attractor_failover_policy(name=config.failover_policy, config=config.table)
    if policy is None:
        raise ConfigurationError(f"[llm.failover] policy = {config.failover_policy!r}: no "
                                 "plugin provides it (built in: none, ordered, pinned)")
    return policy  # type: ignore[no-any-return]


Emit = Callable[[Any], None]


async def call_with_failover(call: Callable[[Request], Awaitable[T]], request: Request,
                             policy: FailoverPolicy, *, default_provider: str,
                             available: Collection[str], node_id: str = "",
                             backend: str = "api", emit: Emit | None = None,
                             ) -> tuple[T, Target]:
    """Run ``call`` on the policy's target, moving on as the policy says after each error.

    Returns the result and the target that produced it. ``ProviderSelected``
    is emitted for the first target and for each failover target, and
    ``LlmFailover`` for each switch. ``trio.Cancelled`` is never caught.
    """
    target = policy.initial(Target(request.provider or default_provider, request.model))
    _emit(emit, ProviderSelected(node_id, backend, target.provider, target.model,
                                 f"policy:{policy.name}"))
    tried: list[Target] = []
    while True:
        try:
            result = await call(attrs.evolve(request, provider=target.provider,
                                             model=target.model))
            return result, target
        except SDKError as error:
            tried.append(target)
            following = policy.next_target(target, error, tuple(tried), available)
            if following is None:
                raise
            _emit(emit, LlmFailover(node_id, target.provider, target.model, following.provider,
                                    following.model, type(error).__name__, policy.name))
            _emit(emit, ProviderSelected(node_id, backend, following.provider, following.model,
                                         f"failover:{policy.name}"))
            target = following


def _emit(emit: Emit | None, event: Any) -> None:
    if emit is not None:
        emit(event)


async def complete_with_failover(client: Client, request: Request, policy: FailoverPolicy, *,
                                 node_id: str = "", backend: str = "api",
                                 emit: Emit | None = None, abort: AbortController | None = None,
                                 ) -> tuple[Response, Target]:
    """``client.complete`` under ``policy``: the one call a codergen backend needs."""

    async def call(req: Request) -> Response:
        return await client.complete(req, abort=abort)

    return await call_with_failover(call, request, policy,
                                    default_provider=client.default_provider or "",
                                    available=client.providers.keys(), node_id=node_id,
                                    backend=backend, emit=emit)
