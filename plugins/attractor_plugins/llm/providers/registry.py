"""Which adapter class speaks which protocol, and building them from config + env."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from ..config import BUILTIN_PROVIDERS, LlmConfig, ProviderConfig
from ..errors import ConfigurationError
from .anthropic import AnthropicAdapter
from .common import HttpAdapter
from .gemini import GeminiAdapter
from .openai_chat import OpenAIChatAdapter
from .openai_responses import OpenAIResponsesAdapter

ADAPTERS: Mapping[str, type[HttpAdapter]] = {
    "openai_responses": OpenAIResponsesAdapter,
    "openai_chat": OpenAIChatAdapter,
    "anthropic": AnthropicAdapter,
    "gemini": GeminiAdapter,
}


def build_adapters(config: LlmConfig, env: Mapping[str, str], http: httpx.AsyncClient
                   ) -> dict[str, HttpAdapter]:
    """One adapter per provider whose key is set (or that needs none), in config order."""
    adapters: dict[str, HttpAdapter] = {}
    for name in config.provider_names():
        provider = config.provider(name)
        key = _api_key(provider, env)
        if key is None:
            continue
        adapters[name] = ADAPTERS[provider.protocol](
            name, api_key=key, base_url=_base_url(provider, env), http=http,
            timeouts=provider.timeouts, headers=provider.headers)
    return adapters


def _api_key(provider: ProviderConfig, env: Mapping[str, str]) -> str | None:
    """The key, "" for a keyless endpoint, or None when the provider is not available."""
    if not provider.api_key_env:
        return ""
    for var in provider.api_key_env:
        if env.get(var):
            return env[var]
    return None


def _base_url(provider: ProviderConfig, env: Mapping[str, str]) -> str:
    if provider.base_url:
        return provider.base_url
    builtin = BUILTIN_PROVIDERS.get(provider.name)
    if builtin is not None:
        return env.get(builtin.base_url_env) or builtin.base_url
    raise ConfigurationError(f"[llm.providers.{provider.name}] needs base_url",
                             provider=provider.name)
