"""A fake LLM provider on 127.0.0.1 (the LLM client's own test server) for the api backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.llm.fake_server import FakeProvider, running_fake_provider


@pytest.fixture
async def fake() -> AsyncIterator[FakeProvider]:
    async with running_fake_provider() as server:
        yield server
