"""Fixtures: a fake provider on 127.0.0.1 and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from attractor_plugins.llm.client import Client

from .fake_server import FakeProvider, running_fake_provider
from .providers import PROTOCOLS, complete_path, provider_setup, stream_path

# PROTOCOLS and the paths are re-exported: test modules import them from here.
__all__ = ["PROTOCOLS", "MakeClient", "complete_path", "provider_setup", "stream_path"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    async with running_fake_provider() as server:
        yield server


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
