"""The model catalog (unified-llm-spec §2.9): context windows, capabilities and prices.

The catalog ships as ``catalog.toml`` beside this module. A user file in the
same format overrides it entry by entry (fields it gives replace the shipped
ones; a new id adds a model): ``[llm] catalog = "FILE"`` in the run config
(relative to that file), else ``$ATTRACTOR_MODEL_CATALOG``. The catalog is
advisory: a model it does not know is still sent to the provider; it then has
no price (spend is reported as tokens only) and no context-window check.

Prices are USD per million tokens; ``None`` means unknown, never zero.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from .errors import ConfigurationError

CATALOG_ENV = "ATTRACTOR_MODEL_CATALOG"
BUILTIN = Path(__file__).with_name("catalog.toml")
_PRICES = ("input", "output", "cache_read", "cache_write")
_FLAGS = ("tools", "vision", "reasoning")
_KEYS = {"id", "provider", "display_name", "aliases", "context_window", "max_output",
         *_FLAGS, *_PRICES, "prices_as_of"}


@frozen
class ModelInfo:
    id: str
    provider: str
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    context_window: int | None = None  # input + output tokens
    max_output: int | None = None
    tools: bool = False
    vision: bool = False
    reasoning: bool = False
    input: float | None = None  # USD per million input tokens (not read from cache)
    output: float | None = None  # USD per million output tokens (reasoning included)
    cache_read: float | None = None
    cache_write: float | None = None
    prices_as_of: str = ""

    @property
    def priced(self) -> bool:
        return self.input is not None and self.output is not None


class Catalog:
    def __init__(self, models: Iterable[ModelInfo], source: str = ""):
        self.models: tuple[ModelInfo, ...] = tuple(models)
        self.source = source
        self._by_name: dict[str, ModelInfo] = {}
        for model in self.models:
            for name in (model.id, *model.aliases):
                self._by_name.setdefault(name.lower(), model)
            self._by_name[model.id.lower()] = model  # an id always beats another's alias

    def get(self, name: str) -> ModelInfo | None:
        """The entry for a model id or alias (case-insensitive; a ``provider/`` prefix and
        claude's dots between version digits are tolerated), or None."""
        for key in _candidates(name):
            model = self._by_name.get(key)
            if model is not None:
                return model
        return None

    def list(self, provider: str | None = None) -> list[ModelInfo]:
        return [m for m in self.models if provider is None or m.provider == provider]

    def suggest(self, name: str) -> str | None:
        """The closest known id or alias, for a did-you-mean."""
        close = difflib.get_close_matches(name.lower(), list(self._by_name), n=1, cutoff=0.6)
        return self._by_name[close[0]].id if close else None


def _candidates(name: str) -> list[str]:
    bare = name.strip().lower().rsplit("/", 1)[-1]
    dashed = _dash_versions(bare)
    return list(dict.fromkeys([name.strip().lower(), bare, dashed]))


def _dash_versions(name: str) -> str:
    """``claude-sonnet-4.5`` -> ``claude-sonnet-4-5`` (digits on both sides of the dot)."""
    out = list(name)
    for i, ch in enumerate(name):
        if ch == "." and 0 < i < len(name) - 1 and name[i - 1].isdigit() \
                and name[i + 1].isdigit() and name.startswith("claude"):
            out[i] = "-"
    return "".join(out)


def load_catalog(user_file: Path | None = None) -> Catalog:
    """The shipped catalog, overridden by ``user_file`` when given."""
    builtin = _builtin()
    if user_file is None:
        return builtin
    overrides = _read(user_file)
    merged = {m.id: m for m in builtin.models}
    for entry in overrides:
        base = merged.get(entry["id"])
        if base is None and "provider" not in entry:
            raise ConfigurationError(f"model catalog {user_file}: model {entry['id']} is not "
                                     "in the shipped catalog, so it needs a provider")
        merged[entry["id"]] = evolve(base, **entry) if base else ModelInfo(**entry)
    return Catalog(merged.values(), str(user_file))


@functools.cache
def _builtin() -> Catalog:
    return Catalog((ModelInfo(**e) for e in _read(BUILTIN)), str(BUILTIN))


def catalog_path(llm_table: Mapping[str, Any] | None, config_file: str | None,
                 env: Mapping[str, str]) -> Path | None:
    """The user catalog a run names: ``[llm] catalog`` (relative to the config file), else
    ``$ATTRACTOR_MODEL_CATALOG``, else None."""
    named = (llm_table or {}).get("catalog")
    if isinstance(named, str) and named:
        path = Path(named).expanduser()
        if not path.is_absolute() and config_file:
            path = Path(config_file).parent / path
        return path
    if named is not None and not isinstance(named, str):
        raise ConfigurationError("[llm] catalog must be a file name")
    from_env = env.get(CATALOG_ENV, "")
    return Path(from_env).expanduser() if from_env else None


def _read(path: Path) -> list[dict[str, Any]]:
    """The entries of a catalog file, each checked; a mistake names the file and entry."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"model catalog {path}: cannot read it: {exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"model catalog {path}: invalid TOML: {exc}") from None
    as_of = document.get("prices_as_of", "")
    models = document.get("model", [])
    if not isinstance(models, list):
        raise ConfigurationError(f"model catalog {path}: 'model' must be an array of tables "
                                 "([[model]])")
    return [_entry(path, i, raw, str(as_of)) for i, raw in enumerate(models, 1)]


def _entry(path: Path, index: int, raw: Any, as_of: str) -> dict[str, Any]:
    where = f"model catalog {path}: model #{index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise ConfigurationError(f"{where}: every [[model]] needs an id")
    where += f" ({raw['id']})"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(_KEYS))}")
    entry: dict[str, Any] = dict(raw)
    for key in ("provider", "display_name", "prices_as_of"):
        if key in entry and not isinstance(entry[key], str):
            raise ConfigurationError(f"{where}: {key} must be a string")
    if "aliases" in entry:
        aliases = entry["aliases"]
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ConfigurationError(f"{where}: aliases must be a list of strings")
        entry["aliases"] = tuple(aliases)
    for key in ("context_window", "max_output"):
        if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool)
                             or entry[key] <= 0):
            raise ConfigurationError(f"{where}: {key} must be a positive integer")
    for key in _FLAGS:
        if key in entry and not isinstance(entry[key], bool):
            raise ConfigurationError(f"{where}: {key} must be true or false")
    for key in _PRICES:
        value = entry.get(key)
        if key in entry and (isinstance(value, bool) or not isinstance(value, int | float)
                             or value < 0):
            raise ConfigurationError(f"{where}: {key} must be a price in USD per million "
                                     "tokens (a number >= 0)")
        if key in entry:
            entry[key] = float(value)  # type: ignore[arg-type]
    if any(k in entry for k in _PRICES) and "prices_as_of" not in entry and as_of:
        entry["prices_as_of"] = as_of
    return entry


def catalog_for_run(llm_table: Mapping[str, Any] | None, config_file: str | None,
                    env: Mapping[str, str]) -> Catalog:
    """The catalog a run uses (the shipped one, or it overridden by the run's user file)."""
    path = catalog_path(llm_table, config_file, env)
    return load_catalog(path) if path is None else _user_catalog(path, _mtime(path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


@functools.lru_cache(maxsize=8)
def _user_catalog(path: Path, mtime: float) -> Catalog:
    """One parse per file version: every stage asks for the run's catalog."""
    return load_catalog(path)
