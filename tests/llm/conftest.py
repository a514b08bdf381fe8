"""Fixtures: a fake provider on 127.0.0.1 and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from attractor_plugins.llm.client import Client

from .fake_server import FakeProvider, running_fake_provider

# Protocol name -> (provider name, env builder, [llm] table builder, model)
PROTOCOLS = ("openai_responses", "openai_chat", "anthropic", "gemini")


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    async with running_fake_provider() as server:
        yield server


def provider_setup(protocol: str, url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(provider name, env, [llm.providers] table) that point ``protocol`` at ``url``."""
    if protocol == "openai_responses":
        return "openai", {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f"{url}/v1"}, {}
    if protocol == "anthropic":
        return "anthropic", {"ANTHROPIC_API_KEY": "ak-test", "ANTHROPIC_BASE_URL": url}, {}
    if protocol == "gemini":
        return "gemini", {"GEMINI_API_KEY": "gk-test", "GEMINI_BASE_URL": url}, {}
    return "compat", {}, {"compat": {"protocol": "openai_chat", "api_key_env": "",
                                     "base_url": f"{url}/v1"}}


def stream_path(protocol: str, model: str = "m") -> str:
    return {"openai_responses": "/v1/responses", "openai_chat": "/v1/chat/completions",
            "anthropic": "/v1/messages",
            "gemini": f"/v1beta/models/{model}:streamGenerateContent"}[protocol]


def complete_path(protocol: str, model: str = "m") -> str:
    if protocol == "gemini":
        return f"/v1beta/models/{model}:generateContent"
    return stream_path(protocol, model)


MakeClient = Callable[..., Client]


@pytest.fixture
def make_client(fake: FakeProvider) -> MakeClient:
    """``make_client(protocol, retry={...}, timeouts={...}, **llm)`` -> (Client, provider)."""

    def build(protocol: str, *, retry: dict[str, Any] | None = None,
              timeouts: dict[str, Any] | None = None, **llm: Any) -> Client:
        name, env, providers = provider_setup(protocol, fake.url)
        table: dict[str, Any] = {"default_provider": name, "providers": providers,
                                 "retry": {"base_delay": 0.01, "jitter": False, **(retry or {})},
                                 **llm}
        if timeouts:
            table["timeouts"] = timeouts
        return Client.from_env(env, {"llm": table})

    return build
