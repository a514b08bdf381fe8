"""Output limits and provider options of a stage's LLM calls.

``temperature`` and ``provider_options`` come, first found, from the node's
attribute (set in DOT or by the model stylesheet), the graph attribute of the
same name, and the ``[llm]`` table of the run's config. ``max_tokens`` comes
from the node's attribute or the ``[llm]`` table only: on the graph,
``max_tokens`` is the run's token budget (``llm.budgets``), never a node's
output limit.
``provider_options`` is a JSON object keyed by provider name
(``{"anthropic": {"auto_cache": false}}``); the three levels are merged per
provider and key, the node winning.

Kept free of heavy imports: the ``codergen_backend_attrs`` lint rule parses
these attributes at validation time with the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attractor_core.sdk import AttributeSpec, Context, Node, Record

from .node_settings import NodeSettingError

OUTPUT_LIMIT = AttributeSpec(
    "max_tokens", "integer", "the provider's", "api: the most tokens one LLM call of this "
    "node may generate; a cut answer is flagged truncated (on the graph, max_tokens is the "
    "run's token budget instead).", stylesheet=True)
# Also graph attributes: the defaults of every node.
GRAPH_ATTRIBUTES = (
    AttributeSpec("temperature", "float", "the provider's", "api: sampling temperature "
                  "(0 to 2).", stylesheet=True),
    AttributeSpec("provider_options", "json", "", "api: per-provider request options, e.g. "
                  "{\"anthropic\": {\"auto_cache\": false}}.", stylesheet=True),
)
ATTRIBUTES = (OUTPUT_LIMIT, *GRAPH_ATTRIBUTES)


class CallControls(Record):
    """What the stage adds to each of its requests (None: the provider's default)."""

    __match_args__ = __slots__ = ("max_tokens", "temperature", "provider_options")
    max_tokens: int | None
    temperature: float | None
    provider_options: Mapping[str, Mapping[str, Any]]

    def __init__(self, max_tokens: int | None = None, temperature: float | None = None,
                 provider_options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        object.__setattr__(self, "max_tokens", max_tokens)
        object.__setattr__(self, "temperature", temperature)
        object.__setattr__(self, "provider_options",
                           {} if provider_options is None else provider_options)

    def describe(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature,
                "provider_options": {k: dict(v) for k, v in self.provider_options.items()}}


def call_controls(node: Node, context: Context, config: Any = None) -> CallControls:
    """The controls of ``node``; ``config`` is the run's ``LlmConfig`` (or None)."""
    def value(key: str) -> tuple[str, str]:
        """The attribute's text and where it came from, for messages."""
        own = node.get(key).strip()
        if own:
            return own, f"node {node.id}: {key}"
        return context.get_string(f"graph.{key}").strip(), f"node {node.id}: graph {key}"

    max_tokens = _max_tokens(node.get("max_tokens").strip(), f"node {node.id}: max_tokens")
    temperature = _temperature(*value("temperature"))
    options: dict[str, dict[str, Any]] = {}
    for level in (getattr(config, "provider_options", {}),
                  _options(context.get_string("graph.provider_options"),
                           f"node {node.id}: graph provider_options"),
                  _options(node.get("provider_options"), f"node {node.id}: provider_options")):
        for provider, values in level.items():
            options.setdefault(provider, {}).update(values)
    return CallControls(
        max_tokens if max_tokens is not None else getattr(config, "max_tokens", None),
        temperature if temperature is not None else getattr(config, "temperature", None),
        options)


def _max_tokens(raw: str, label: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise NodeSettingError(f"{label}={raw!r}: use a whole number of at least 1")
    return int(raw)


def _temperature(raw: str, label: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 2:
        raise NodeSettingError(f"{label}={raw!r}: use a number from 0 to 2")
    return value


def _options(raw: str, label: str) -> dict[str, dict[str, Any]]:
    if not raw.strip():
        return {}
    hint = ("use a JSON object keyed by provider, e.g. "
            "provider_options=\"{\\\"anthropic\\\": {\\\"auto_cache\\\": false}}\"")
    import json  # only when the attribute is set: validate usually does without it

    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise NodeSettingError(f"{label} is not JSON ({exc}); {hint}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise NodeSettingError(f"{label}={raw!r}: {hint}")
    return {str(k): dict(v) for k, v in value.items()}
