"""Client construction from env + [llm] config, routing, and the middleware chain (spec §2.2-2.3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from attractor_plugins.llm import errors as e
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.middleware import CompleteNext, Middleware, StreamNext
from attractor_plugins.llm.types import Message, Request, Response, StreamEvent, StreamEventType

from .fake_server import FakeProvider, Reply, json_reply, wire_stream

REQ = Request(model="m", messages=[Message.user("x")])


def test_only_providers_with_a_key_are_registered_and_the_first_is_default() -> None:
    client = Client.from_env({"ANTHROPIC_API_KEY": "a", "GOOGLE_API_KEY": "g"}, None)
    assert sorted(client.providers) == ["anthropic", "gemini"]
    assert client.default_provider == "anthropic"


def test_no_key_no_provider_is_a_clear_configuration_error() -> None:
    client = Client.from_env({}, {})
    with pytest.raises(e.ConfigurationError, match="no LLM provider configured"):
        client.adapter_for(REQ)


def test_default_provider_must_be_configured() -> None:
    with pytest.raises(e.ConfigurationError, match=r"default_provider = 'gemini' is not available: set GEMINI_API_KEY or GOOGLE_API_KEY"):
        Client.from_env({"OPENAI_API_KEY": "k"}, {"llm": {"default_provider": "gemini"}})


@pytest.mark.parametrize(("table", "message"), [
    ({"providers": {"x": {"protocol": "grpc"}}}, r"\[llm.providers.x\] protocol = 'grpc'"),
    ({"providers": {"openai": {"api_key": "sk-1"}}}, r"unknown key\(s\) api_key"),
    ({"retry": {"max_retries": -1}}, r"\[llm.retry\]: max_retries must be >= 0"),
    ({"timeouts": {"stream_read": 0}}, r"\[llm.timeouts\] stream_read = 0"),
    ({"providers": {"openai": {"failover": "anthropic"}}}, r"failover = 'anthropic'"),
    ({"providers": {"local": {"protocol": "openai_chat", "api_key_env": ""}}},
     r"\[llm.providers.local\] needs base_url"),
    ({"bogus": 1}, r"\[llm\]: unknown key\(s\) bogus"),
    ({"max_tokens": 0}, r"\[llm\] max_tokens = 0: expected a whole number >= 1"),
    ({"temperature": "warm"}, r"\[llm\] temperature = 'warm': expected a number from 0 to 2"),
    ({"provider_options": {"anthropic": 1}},
     r"\[llm.provider_options.anthropic\] must be a table"),
])
def test_config_mistakes_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(e.ConfigurationError, match=message):
        Client.from_env({"OPENAI_API_KEY": "k"}, {"llm": table})


async def test_config_base_url_beats_the_environment_and_headers_are_sent(
        fake: FakeProvider) -> None:
    fake.script(Reply(json=json_reply("openai_responses", "ok")))
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    table = {"providers": {"openai": {"base_url": f"{fake.url}/v1",
                                      "headers": {"OpenAI-Project": "p1"}}}}
    async with Client.from_env(env, {"llm": table}) as client:
        assert (await client.complete(REQ)).text == "ok"
    assert fake.requests[0].headers["openai-project"] == "p1"


async def test_a_custom_provider_with_its_own_key_variable(fake: FakeProvider) -> None:
    fake.script(Reply(json=json_reply("openai_chat", "hi from vllm")))
    table = {"default_provider": "vllm", "providers": {"vllm": {
        "protocol": "openai_chat", "api_key_env": "VLLM_TOKEN", "base_url": f"{fake.url}/v1",
        "model": "llama", "backend": "api"}}}
    config = LlmConfig.from_document({"llm": table})
    assert config.provider("vllm").backend == "api" and config.provider("vllm").model == "llama"
    async with Client.from_env({"VLLM_TOKEN": "t"}, config) as client:
        assert (await client.complete(REQ)).text == "hi from vllm"
    assert fake.requests[0].headers["authorization"] == "Bearer t"
    with pytest.raises(e.ConfigurationError, match="'vllm' is not available: set VLLM_TOKEN"):
        Client.from_env({}, config)  # token missing: not registered, and it is the default


class Recorder(Middleware):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def complete(self, request: Request, call_next: CompleteNext) -> Response:
        self.log.append(f"{self.name}>")
        response = await call_next(request)
        self.log.append(f"<{self.name}")
        return response

    async def stream(self, request: Request, call_next: StreamNext
                     ) -> AsyncIterator[StreamEvent]:
        self.log.append(f"{self.name}>")
        async for event in call_next(request):
            if event.type == StreamEventType.TEXT_DELTA:
                self.log.append(f"{self.name}:{event.delta}")
            yield event
        self.log.append(f"<{self.name}")


async def test_middleware_is_an_onion_in_both_modes(fake: FakeProvider) -> None:
    fake.script(Reply(json=json_reply("openai_responses", "ok")),
                Reply(sse=wire_stream("openai_responses", ["s"])))
    log: list[str] = []
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{fake.url}/v1"}
    async with Client.from_env(env, {}, middleware=[Recorder("a", log), Recorder("b", log)]
                               ) as client:
        await client.complete(REQ)
        assert log == ["a>", "b>", "<b", "<a"]
        log.clear()
        async with aclosing(client.stream(REQ)) as events:
            _ = [ev async for ev in events]
        assert log == ["a>", "b>", "b:s", "a:s", "<b", "<a"]


class Rewrite(Middleware):
    """A middleware may change the request, e.g. its model."""

    async def complete(self, request: Request, call_next: CompleteNext) -> Response:
        return await call_next(Request(model="rewritten", messages=request.messages))


async def test_middleware_can_modify_the_request(fake: FakeProvider) -> None:
    fake.script(Reply(json=json_reply("openai_responses", "ok")))
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{fake.url}/v1"}
    async with Client.from_env(env, {}, middleware=[Rewrite()]) as client:
        await client.complete(REQ)
    assert fake.requests[0].body["model"] == "rewritten"


def test_tool_definitions_are_validated_when_defined() -> None:
    from attractor_plugins.llm.types import ToolDefinition

    with pytest.raises(ValueError, match="tool name '9lives'"):
        ToolDefinition("9lives", "bad", {"type": "object"})
    with pytest.raises(ValueError, match="root must have"):
        ToolDefinition("ok", "bad", {"type": "array"})
    assert ToolDefinition("a" * 64, "fine").parameters["type"] == "object"


def test_each_builtin_provider_has_the_default_model_docs_llm_md_lists() -> None:
    from pathlib import Path

    from attractor_plugins.llm.config import DEFAULT_MODELS, LlmConfig

    doc = (Path(__file__).parents[2] / "docs" / "llm.md").read_text()
    config = LlmConfig()
    for provider, model in DEFAULT_MODELS.items():
        assert model and config.provider(provider).model == model
        assert f"| `{provider}` | `{model}` |" in doc
    # A table without ``model`` keeps the built-in default; a custom provider has none.
    table = LlmConfig.from_table({"providers": {"openai": {"base_url": "http://x"},
                                                "local": {"protocol": "openai_chat"}}})
    assert table.provider("openai").model == DEFAULT_MODELS["openai"]
    assert table.provider("local").model == ""


def test_a_custom_provider_without_api_key_env_is_told_how_to_declare_a_keyless_server() -> None:
    table = {"default_provider": "local", "providers": {"local": {
        "protocol": "openai_chat", "base_url": "http://127.0.0.1:9/v1"}}}
    with pytest.raises(e.ConfigurationError) as info:
        Client.from_env({}, {"llm": table})
    assert info.value.message == (
        "[llm] default_provider = 'local' is not available: set LOCAL_API_KEY; a server that "
        'needs no key is declared with api_key_env = "" in [llm.providers.local]')
