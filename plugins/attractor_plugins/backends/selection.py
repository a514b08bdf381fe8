"""Which provider, model and backend a codergen node uses.

Provider: the node's ``llm_provider`` (set in the DOT file or by the model
stylesheet), else ``[llm] default_provider``, else the first provider whose
key is set. Model: the node's ``llm_model``, else the provider table's
``model``. (The backend itself is chosen by the codergen handler:
``--backend``, else the provider table's ``backend``, else ``simulate``.)

The run's ``[llm]`` configuration reaches the backends as the run option
``llm`` (a parsed TOML ``[llm]`` table or an ``LlmConfig``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from attractor_core.sdk import Node
from attractor_plugins.llm.config import LlmConfig, ProviderConfig
from attractor_plugins.llm.errors import ConfigurationError

# Other names pipelines use for a built-in provider (kilroy writes ``google`` for Gemini).
ALIASES = {"google": "gemini"}


@frozen
class LlmTarget:
    provider: str
    model: str
    reason: str  # graph_attrs | config_default | environment | force_model


def llm_config(option: Any) -> LlmConfig:
    """The run option ``llm`` as an ``LlmConfig`` (an empty one when unset)."""
    if isinstance(option, LlmConfig):
        return option
    if isinstance(option, Mapping):
        return LlmConfig.from_table(option)
    return LlmConfig()


def resolve_target(node: Node, config: LlmConfig, env: Mapping[str, str],
                   forced: Mapping[str, str] | None = None) -> LlmTarget:
    """``forced``: ``--force-model`` (provider -> model), which beats the node's model."""
    provider, reason = ALIASES.get(node.llm_provider, node.llm_provider), "graph_attrs"
    if not provider:
        provider, reason = config.default_provider, "config_default"
    if not provider:
        provider, reason = _first_keyed(config, env), "environment"
    if not provider:
        raise ConfigurationError(
            f"node {node.id}: no LLM provider: set llm_provider on the node, in the model "
            "stylesheet or on the graph, [llm] default_provider in the config, or export an "
            "API key variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY)")
    if forced and forced.get(provider):
        return LlmTarget(provider, forced[provider], "force_model")
    model = node.llm_model or config.provider(provider).model
    if not model:
        raise ConfigurationError(
            f"node {node.id}: no model for provider {provider}: set llm_model on the node, in "
            f"the model stylesheet or on the graph, or model in [llm.providers.{provider}]",
            provider=provider)
    return LlmTarget(provider, model, reason)


def missing_key(provider: ProviderConfig, env: Mapping[str, str]) -> str:
    """What to export when none of the provider's key variables is set, else ""."""
    keys = provider.api_key_env
    if not keys or any(env.get(key) for key in keys):
        return ""
    return (f"provider {provider.name} needs {' or '.join(keys)}: export it (keys are read "
            "only from the environment), or choose another provider with llm_provider"
            + provider.keyless_hint())


def without_node(node: Node, message: str) -> str:
    """``message`` without its leading ``node ID:``, for reports that name the node already."""
    prefix = f"node {node.id}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _first_keyed(config: LlmConfig, env: Mapping[str, str]) -> str:
    for name in config.provider_names():
        keys = config.provider(name).api_key_env
        if not keys or any(env.get(key) for key in keys):
            return name
    return ""
