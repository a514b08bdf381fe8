"""Where each provider protocol's requests go, and how to point a provider at the fake server.

Plain functions without pytest, so that the LLM client benchmark can use them too.
"""

from __future__ import annotations

from typing import Any

PROTOCOLS = ("openai_responses", "openai_chat", "anthropic", "gemini")


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
