"""The ``[llm]`` table of the run's TOML config, plus environment variables.

::

    [llm]
    default_provider = "openai"          # else the first provider configured
    max_tokens = 4096                    # per call; the provider's default when unset
    temperature = 0.2                    # the provider's default when unset
    [llm.provider_options.anthropic]     # merged into that provider's requests
    auto_cache = false                   # no automatic cache_control breakpoints
    [llm.failover]
    policy = "none"                      # none (default) | ordered | pinned | a plugin's name
    pinned = "openai/gpt-5.2"            # pinned only; default: the node's own provider/model
    [llm.retry]                          # inside one call (spec §6.6 defaults)
    max_retries = 2
    base_delay = 1.0
    max_delay = 60.0                     # also the cap on a honoured Retry-After
    backoff_multiplier = 2.0
    jitter = true
    [llm.timeouts]                       # seconds; defaults for every provider
    connect = 10
    request = 120
    stream_read = 30                     # max silence between two stream events
    [llm.providers.openai]
    protocol = "openai_responses"        # openai_responses | openai_chat | anthropic | gemini
    api_key_env = "OPENAI_API_KEY"       # "" for a keyless endpoint (local vLLM, Ollama)
    base_url = "https://api.openai.com/v1"
    model = "gpt-5.2"                    # the model used when this provider is a failover target
    failover = ["anthropic", "gemini/gemini-3-flash-preview"]   # ordered policy only
    headers = { "OpenAI-Project" = "proj" }
    timeouts = { request = 300 }
    backend = "api"                      # read by the codergen backend chooser, not by the client

The providers ``openai``, ``anthropic`` and ``gemini`` exist without a
table: they are registered when their key (``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``) is set, and
``*_BASE_URL`` moves their endpoint. A table's ``base_url`` beats the
environment. Each has a default model (:data:`DEFAULT_MODELS`), used when
neither the node nor the provider's table names one. Keys never live in
the config file, only the variable name. Any mistake is a
:class:`ConfigurationError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from .errors import ConfigurationError
from .retry import RetryPolicy

PROTOCOLS = ("openai_responses", "openai_chat", "anthropic", "gemini")


@frozen
class AdapterTimeout:
    """Seconds: connect, whole request (non-streaming), and max silence in a stream."""

    connect: float = 10.0
    request: float = 120.0
    stream_read: float = 30.0


@frozen
class BuiltinProvider:
    protocol: str
    key_envs: tuple[str, ...]
    base_url_env: str
    base_url: str
    default_model: str


BUILTIN_PROVIDERS: Mapping[str, BuiltinProvider] = {
    "openai": BuiltinProvider("openai_responses", ("OPENAI_API_KEY",), "OPENAI_BASE_URL",
                              "https://api.openai.com/v1", "gpt-5.2"),
    "anthropic": BuiltinProvider("anthropic", ("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL",
                                 "https://api.anthropic.com", "claude-sonnet-4-5"),
    "gemini": BuiltinProvider("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GEMINI_BASE_URL",
                              "https://generativelanguage.googleapis.com",
                              "gemini-3-flash-preview"),
}
# The model a built-in provider uses when neither the node nor its table names one
# (docs/llm.md lists them; keep the two in step).
DEFAULT_MODELS: Mapping[str, str] = {n: p.default_model for n, p in BUILTIN_PROVIDERS.items()}


@frozen
class ProviderConfig:
    """One ``[llm.providers.<name>]`` table (or a built-in provider without a table).

    ``failover`` is None when the key is absent and ``()`` for an explicit
    empty list; both mean "no failover" and the difference is kept for
    messages.
    """

    name: str
    protocol: str
    api_key_env: tuple[str, ...]
    base_url: str = ""
    model: str = ""
    failover: tuple[str, ...] | None = None
    headers: Mapping[str, str] = field(factory=dict)
    timeouts: AdapterTimeout = field(factory=AdapterTimeout)
    backend: str = ""
    key_env_defaulted: bool = False  # a custom table without api_key_env (<NAME>_API_KEY)

    def keyless_hint(self) -> str:
        """How to declare a keyless server, for messages about a defaulted key variable."""
        if not self.key_env_defaulted:
            return ""
        return (f"; a server that needs no key is declared with api_key_env = \"\" in "
                f"[llm.providers.{self.name}]")


@frozen
class LlmConfig:
    providers: Mapping[str, ProviderConfig] = field(factory=dict)
    default_provider: str = ""
    failover_policy: str = "none"
    failover: Mapping[str, Any] = field(factory=dict)
    retry: RetryPolicy = field(factory=RetryPolicy)
    timeouts: AdapterTimeout = field(factory=AdapterTimeout)
    table: Mapping[str, Any] = field(factory=dict)
    max_tokens: int | None = None
    temperature: float | None = None
    provider_options: Mapping[str, Mapping[str, Any]] = field(factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> LlmConfig:
        """Build from a whole parsed TOML config; only its ``[llm]`` table is read."""
        table = document.get("llm", {})
        return cls.from_table(_table(table, "[llm]"))

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> LlmConfig:
        _only(table, "[llm]", {"default_provider", "failover", "retry", "timeouts", "providers",
                               "max_tokens", "temperature", "provider_options"})
        timeouts = _timeouts(table.get("timeouts", {}), "[llm.timeouts]", AdapterTimeout())
        failover = _table(table.get("failover", {}), "[llm.failover]")
        providers = _table(table.get("providers", {}), "[llm.providers]")
        parsed = {name: _provider(name, _table(t, f"[llm.providers.{name}]"), timeouts)
                  for name, t in providers.items()}
        return cls(
            providers=parsed,
            default_provider=_str(table, "default_provider", "[llm]"),
            failover_policy=_str(failover, "policy", "[llm.failover]") or "none",
            failover=failover,
            retry=_retry(_table(table.get("retry", {}), "[llm.retry]")),
            timeouts=timeouts,
            table=table,
            **_call_controls(table),
        )

    def provider(self, name: str) -> ProviderConfig:
        """The configuration of ``name``, from its table or from the built-in defaults."""
        if name in self.providers:
            return self.providers[name]
        builtin = BUILTIN_PROVIDERS.get(name)
        if builtin is None:
            raise ConfigurationError(f"unknown LLM provider {name!r}: add [llm.providers.{name}] "
                                     f"with protocol = one of {', '.join(PROTOCOLS)}",
                                     provider=name)
        return ProviderConfig(name, builtin.protocol, builtin.key_envs,
                              model=builtin.default_model, timeouts=self.timeouts)

    def provider_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.providers, *BUILTIN_PROVIDERS]))


def _provider(name: str, table: Mapping[str, Any], timeouts: AdapterTimeout) -> ProviderConfig:
    where = f"[llm.providers.{name}]"
    _only(table, where, {"protocol", "api_key_env", "base_url", "model", "failover", "headers",
                         "timeouts", "backend"})
    builtin = BUILTIN_PROVIDERS.get(name)
    protocol = _str(table, "protocol", where) or (builtin.protocol if builtin else "")
    if protocol not in PROTOCOLS:
        raise ConfigurationError(f"{where} protocol = {protocol!r}: use one of "
                                 f"{', '.join(PROTOCOLS)}", provider=name)
    if "api_key_env" in table:
        env_names: tuple[str, ...] = tuple(filter(None, [_str(table, "api_key_env", where)]))
    else:
        env_names = builtin.key_envs if builtin else (f"{name.upper()}_API_KEY",)
    return ProviderConfig(
        name=name, protocol=protocol, api_key_env=env_names,
        base_url=_str(table, "base_url", where),
        model=_str(table, "model", where) or (builtin.default_model if builtin else ""),
        failover=_str_list(table, "failover", where),
        headers={str(k): str(v) for k, v in _table(table.get("headers", {}),
                                                   f"{where} headers").items()},
        timeouts=_timeouts(table.get("timeouts", {}), f"{where} timeouts", timeouts),
        backend=_str(table, "backend", where),
        key_env_defaulted=builtin is None and "api_key_env" not in table)


def _call_controls(table: Mapping[str, Any]) -> dict[str, Any]:
    """``max_tokens``, ``temperature`` and ``provider_options`` of the ``[llm]`` table."""
    found: dict[str, Any] = {}
    if "max_tokens" in table:
        value = table["max_tokens"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"[llm] max_tokens = {value!r}: expected a whole number "
                                     ">= 1")
        found["max_tokens"] = value
    if "temperature" in table:
        value = table["temperature"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
            raise ConfigurationError(f"[llm] temperature = {value!r}: expected a number from "
                                     "0 to 2")
        found["temperature"] = float(value)
    options = _table(table.get("provider_options", {}), "[llm.provider_options]")
    found["provider_options"] = {
        str(name): dict(_table(values, f"[llm.provider_options.{name}]"))
        for name, values in options.items()}
    return found


def _retry(table: Mapping[str, Any]) -> RetryPolicy:
    _only(table, "[llm.retry]", {"max_retries", "base_delay", "max_delay", "backoff_multiplier",
                                 "jitter"})
    try:
        return RetryPolicy(**table)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"[llm.retry]: {exc}") from None


def _timeouts(value: Any, where: str, base: AdapterTimeout) -> AdapterTimeout:
    table = _table(value, where)
    _only(table, where, {"connect", "request", "stream_read"})
    merged = {"connect": base.connect, "request": base.request, "stream_read": base.stream_read}
    for key, raw in table.items():
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
            raise ConfigurationError(f"{where} {key} = {raw!r}: expected seconds > 0")
        merged[key] = float(raw)
    return AdapterTimeout(**merged)


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where} must be a table, got {type(value).__name__}")
    return value


def _only(table: Mapping[str, Any], where: str, known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")


def _str(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigurationError(f"{where} {key} = {value!r}: expected a string")
    return value


def _str_list(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{where} {key} = {value!r}: expected a list of provider "
                                 "names (\"anthropic\" or \"anthropic/claude-sonnet-4-5\")")
    return tuple(value)
