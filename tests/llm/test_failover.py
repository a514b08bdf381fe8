"""Failover policies none / ordered / pinned, and a third-party one through the hook."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pluggy
import pytest
import trio

from attractor_core.plugins import make_plugin_manager
from attractor_plugins.events import LlmFailover, ProviderSelected
from attractor_plugins.llm import errors as e
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.failover import (
    FailoverForbiddenError,
    FailoverPolicy,
    Target,
    complete_with_failover,
    policy_from_plugins,
)
from attractor_plugins.llm.taxonomy import classify_error
from attractor_plugins.llm.types import Message, Request, Response

from .fake_server import STALL, FakeProvider, Reply, json_reply

OPENAI, ANTHROPIC, GEMINI = "/v1/responses", "/v1/messages", "/v1beta/models/g:generateContent"


def env_for(fake: FakeProvider, *providers: str) -> dict[str, str]:
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{fake.url}/v1",
           "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url,
           "GEMINI_API_KEY": "k", "GEMINI_BASE_URL": fake.url}
    keep = {f"{p.upper()}_" for p in providers}
    return {k: v for k, v in env.items() if any(k.startswith(p) for p in keep)}


def llm_table(policy: str, failover: Mapping[str, list[str]] | None = None,
              **failover_keys: Any) -> dict[str, Any]:
    providers = {name: {"failover": chain} for name, chain in (failover or {}).items()}
    providers.setdefault("anthropic", {})["model"] = "claude-c"
    return {"default_provider": "openai", "retry": {"max_retries": 0},
            "failover": {"policy": policy, **failover_keys}, "providers": providers}


async def run(fake: FakeProvider, table: dict[str, Any], *, providers: Sequence[str] = (
        "openai", "anthropic", "gemini"), provider: str | None = None,
              pm: pluggy.PluginManager | None = None,
              ) -> tuple[Response | BaseException, Target | None, list[Any]]:
    config = LlmConfig.from_table(table)
    policy = policy_from_plugins(pm or make_plugin_manager(), config)
    events: list[Any] = []
    request = Request(model="m", messages=[Message.user("hi")], provider=provider)
    async with Client.from_env(env_for(fake, *providers), config) as client:
        try:
            response, target = await complete_with_failover(
                client, request, policy, node_id="n1", emit=events.append)
        except e.SDKError as exc:
            return exc, None, events
    return response, target, events


def failovers(events: list[Any]) -> list[tuple[str, str, str, str, str, str]]:
    return [(ev.from_provider, ev.from_model, ev.to_provider, ev.to_model, ev.error_class,
             ev.policy) for ev in events if isinstance(ev, LlmFailover)]


def selected(events: list[Any]) -> list[tuple[str, str]]:
    return [(ev.provider, ev.model) for ev in events if isinstance(ev, ProviderSelected)]


async def test_none_never_fails_over_even_with_a_failover_list(fake: FakeProvider) -> None:
    fake.script(Reply(503, {"error": {"message": "busy"}}), path=OPENAI)
    fake.script(Reply(json=json_reply("anthropic", "backup")), path=ANTHROPIC)
    result, _, events = await run(fake, llm_table("none", {"openai": ["anthropic"]}))
    assert isinstance(result, e.ServerError)
    assert fake.paths() == [OPENAI]
    assert selected(events) == [("openai", "m")] and failovers(events) == []


async def test_none_is_the_default_policy(fake: FakeProvider) -> None:
    fake.script(Reply(503, {"error": {"message": "busy"}}), path=OPENAI)
    table = llm_table("none", {"openai": ["anthropic"]})
    del table["failover"]
    result, _, _ = await run(fake, table)
    assert isinstance(result, e.ServerError) and fake.paths() == [OPENAI]


async def test_ordered_fails_over_once_on_an_eligible_error(fake: FakeProvider) -> None:
    fake.script(Reply(503, {"error": {"message": "busy"}}), path=OPENAI)
    fake.script(Reply(json=json_reply("anthropic", "from backup")), path=ANTHROPIC)
    result, target, events = await run(fake, llm_table("ordered", {"openai": ["anthropic"]}))
    assert isinstance(result, Response) and result.text == "from backup"
    assert target == Target("anthropic", "claude-c")
    assert fake.paths() == [OPENAI, ANTHROPIC]
    assert fake.requests[1].body["model"] == "claude-c"
    assert failovers(events) == [("openai", "m", "anthropic", "claude-c", "ServerError",
                                  "ordered")]
    assert selected(events) == [("openai", "m"), ("anthropic", "claude-c")]


@pytest.mark.parametrize(("status", "message", "cls"), [
    (401, "bad key", e.AuthenticationError),
    (403, "forbidden", e.AccessDeniedError),
    (400, "bad parameter", e.InvalidRequestError),
    (404, "no such model", e.NotFoundError),
    (400, "prompt exceeds the context length", e.ContextLengthError),
    (400, "blocked by content filter", e.ContentFilterError),
])
async def test_ordered_never_fails_over_on_ineligible_errors(
        fake: FakeProvider, status: int, message: str, cls: type[e.SDKError]) -> None:
    fake.script(Reply(status, {"error": {"message": message}}), path=OPENAI)
    result, _, events = await run(fake, llm_table("ordered", {"openai": ["anthropic"]}))
    assert type(result) is cls
    assert fake.paths() == [OPENAI] and failovers(events) == []


async def test_ordered_is_one_hop_and_never_follows_the_targets_own_list(
        fake: FakeProvider) -> None:
    fake.script(Reply(503, {"error": {"message": "busy"}}), path=OPENAI)
    fake.script(Reply(529, {"error": {"type": "overloaded_error", "message": "overloaded"}}),
                path=ANTHROPIC)
    table = llm_table("ordered", {"openai": ["anthropic"], "anthropic": ["gemini/g"]})
    result, _, events = await run(fake, table)
    assert isinstance(result, e.ServerError) and result.provider == "anthropic"
    assert fake.paths() == [OPENAI, ANTHROPIC]
    assert len(failovers(events)) == 1


async def test_ordered_walks_the_primarys_list_in_order_skipping_keyless_targets(
        fake: FakeProvider) -> None:
    fake.script(Reply(429, {"error": {"message": "slow down"}}), path=OPENAI)
    fake.script(Reply(json=json_reply("anthropic", "ok")), path=ANTHROPIC)
    table = llm_table("ordered", {"openai": ["gemini/g", "anthropic/claude-2"]})
    result, target, events = await run(fake, table, providers=("openai", "anthropic"))
    assert isinstance(result, Response) and target == Target("anthropic", "claude-2")
    assert fake.paths() == [OPENAI, ANTHROPIC]
    assert failovers(events)[0][4] == "RateLimitError"


async def test_ordered_target_without_a_model_is_a_configuration_error() -> None:
    table = llm_table("ordered", {"openai": ["local"]})
    table["providers"]["local"] = {"protocol": "openai_chat", "api_key_env": ""}
    with pytest.raises(e.ConfigurationError, match=r"'local' names no model"):
        policy_from_plugins(make_plugin_manager(), LlmConfig.from_table(table))


async def test_pinned_refuses_a_failover_loudly_and_deterministically(
        fake: FakeProvider) -> None:
    fake.script(Reply(503, {"error": {"message": "busy"}}), path=OPENAI)
    fake.script(Reply(json=json_reply("anthropic", "must not happen")), path=ANTHROPIC)
    result, _, events = await run(fake, llm_table("pinned", {"openai": ["anthropic"]}))
    assert isinstance(result, FailoverForbiddenError)
    assert str(result).startswith(
        "openai: failover forbidden by run policy: pinned provider/model openai/m")
    assert isinstance(result.__cause__, e.ServerError)
    assert classify_error(result).failure_class == "deterministic"
    assert fake.paths() == [OPENAI] and failovers(events) == []


async def test_pinned_refuses_another_provider_before_any_request(fake: FakeProvider) -> None:
    table = llm_table("pinned", pinned="openai/m")
    result, _, _ = await run(fake, table, provider="anthropic")
    assert isinstance(result, FailoverForbiddenError)
    assert "pinned provider/model openai/m (a node asked for anthropic/m)" in str(result)
    assert fake.requests == []


@pytest.mark.parametrize(("status", "cls", "failover"), [
    (401, e.AuthenticationError, {"openai": ["anthropic"]}),  # not eligible: keeps its class
    (503, e.ServerError, None),  # eligible but nothing configured to fail over to
])
async def test_pinned_keeps_other_errors_as_they_are(
        fake: FakeProvider, status: int, cls: type[e.SDKError],
        failover: dict[str, list[str]] | None) -> None:
    fake.script(Reply(status, {"error": {"message": "nope"}}), path=OPENAI)
    result, _, _ = await run(fake, llm_table("pinned", failover, pinned="openai/m"))
    assert type(result) is cls


async def test_pinned_run_on_its_pin_succeeds(fake: FakeProvider) -> None:
    fake.script(Reply(json=json_reply("openai_responses", "ok")), path=OPENAI)
    result, target, _ = await run(fake, llm_table("pinned", pinned="openai/m"))
    assert isinstance(result, Response) and target == Target("openai", "m")


class AlwaysGemini:
    """A third-party policy: any eligible error goes to gemini/g."""

    name = "to_gemini"

    def initial(self, requested: Target) -> Target:
        return requested

    def next_target(self, failed: Target, error: e.SDKError, tried: Sequence[Target],
                    available: Collection[str]) -> Target | None:
        return None if failed.provider == "gemini" else Target("gemini", "g")


class ThirdPartyPlugin:
    hookimpl = pluggy.HookimplMarker("attractor")

    @hookimpl
    def attractor_failover_policy(self, name: str, config: Mapping[str, Any]
                                  ) -> FailoverPolicy | None:
        assert config["failover"]["policy"] == name  # the [llm] table reaches the plugin
        return AlwaysGemini() if name == "to_gemini" else None


async def test_a_third_party_policy_plugs_in_through_the_hook(fake: FakeProvider) -> None:
    fake.script(Reply(500, {"error": {"message": "boom"}}), path=OPENAI)
    fake.script(Reply(json=json_reply("gemini", "gemini says hi")), path=GEMINI)
    pm = make_plugin_manager(extra_plugins=[ThirdPartyPlugin()])
    result, target, events = await run(fake, llm_table("to_gemini"), pm=pm)
    assert isinstance(result, Response) and result.text == "gemini says hi"
    assert target == Target("gemini", "g")
    assert failovers(events) == [("openai", "m", "gemini", "g", "ServerError", "to_gemini")]


def test_an_unknown_policy_name_is_a_configuration_error() -> None:
    with pytest.raises(e.ConfigurationError, match="'roulette': no plugin provides it"):
        policy_from_plugins(make_plugin_manager(), LlmConfig.from_table(llm_table("roulette")))


async def test_cancellation_during_the_primary_never_triggers_a_failover(
        fake: FakeProvider) -> None:
    fake.script(Reply(sse=[STALL]), path=OPENAI)
    fake.script(Reply(json=json_reply("anthropic", "no")), path=ANTHROPIC)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, fake, llm_table("ordered", {"openai": ["anthropic"]}))
        # Cancel only once the primary's request is in flight (a loaded machine is slow).
        with trio.fail_after(30):
            while not fake.paths():
                await trio.sleep(0.01)
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert fake.paths() == [OPENAI]
