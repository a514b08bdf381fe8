"""The LLM plugin's command line: ``attractor models`` and the run budget flags.

Kept free of the HTTP client and trio: argparse builds these on every
``attractor run``, ``resume`` and ``models``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from attractor_core.sdk import UsageError

from .. import commands
from .budgets import ALIASES, RUN_BUDGETS, BudgetSettingError, parse_limit
from .catalog import Catalog, ModelInfo, catalog_path, load_catalog
from .errors import ConfigurationError

_FLAG_HELP = {
    "max_cost_usd": "stop the run once its LLM calls cost more than USD (the catalog's prices)",
    "max_tokens": "stop the run once its LLM calls used more than N input + output tokens",
    "max_llm_calls": "stop the run before its LLM call number N+1",
}


def add_budget_flags(command: str, parser: argparse.ArgumentParser) -> list[str]:
    """``--max-cost-usd``, ``--max-tokens`` (or ``--max-total-tokens``), ``--max-llm-calls``
    on run and resume. An alias's flag sets the budget's own option."""
    if command not in ("run", "resume"):
        return []
    group = parser.add_argument_group("LLM budgets (docs/llm.md#budgets)")
    for key in RUN_BUDGETS:
        flags = ["--" + name.replace("_", "-") for name in (key, *ALIASES.get(key, ()))]
        group.add_argument(*flags, dest=key, metavar="USD" if key == "max_cost_usd" else "N",
                           type=_checked(key, flags[0]), help=_FLAG_HELP[key])
    return list(RUN_BUDGETS)


def _checked(key: str, flag: str) -> Any:
    def parse(text: str) -> str:
        try:
            parse_limit(key, text, flag)
        except BudgetSettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text.strip()

    return parse


def add_models_command(subparsers: Any) -> None:
    p = subparsers.add_parser("models", help=commands.MODELS)
    p.add_argument("--provider", help="only this provider's models (openai, anthropic, gemini)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--config", type=Path, default=None,
                   help="a run config whose [llm] catalog overrides the shipped catalog")
    p.set_defaults(handler=_models)


def _models(args: argparse.Namespace) -> int:
    try:
        catalog = _catalog(args.config)
    except (ConfigurationError, UsageError) as exc:
        sys.stderr.write(f"attractor: {exc}\n")
        return 2
    models = catalog.list(args.provider)
    if args.provider and not models:
        known = sorted({m.provider for m in catalog.models})
        sys.stderr.write(f"attractor: no model of provider {args.provider!r} in the catalog; "
                         f"providers: {', '.join(known)}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps([_record(m) for m in models], indent=2) + "\n")
        return 0
    sys.stdout.write(_table(models) + f"\nprices: USD per million tokens; catalog: "
                     f"{catalog.source}\n")
    return 0


def _catalog(config: Path | None) -> Catalog:
    table: dict[str, Any] = {}
    if config is not None:
        try:
            table = tomllib.loads(config.read_text(encoding="utf-8")).get("llm", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"{config}: cannot read config: {exc}") from None
    path = catalog_path(table, str(config.resolve()) if config else None, os.environ)
    return load_catalog(path)


def _record(m: ModelInfo) -> dict[str, Any]:
    return {"id": m.id, "provider": m.provider, "display_name": m.display_name,
            "aliases": list(m.aliases), "context_window": m.context_window,
            "max_output": m.max_output, "tools": m.tools, "vision": m.vision,
            "reasoning": m.reasoning, "input_per_mtok": m.input, "output_per_mtok": m.output,
            "cache_read_per_mtok": m.cache_read, "cache_write_per_mtok": m.cache_write,
            "prices_as_of": m.prices_as_of}


def _table(models: list[ModelInfo]) -> str:
    header = ("model", "provider", "context", "max out", "caps", "in", "out", "cache r/w",
              "prices as of")
    rows = [header] + [(
        m.id + (f" ({', '.join(m.aliases)})" if m.aliases else ""), m.provider,
        _tokens(m.context_window), _tokens(m.max_output),
        ",".join(c for c, on in (("tools", m.tools), ("vision", m.vision),
                                 ("reasoning", m.reasoning)) if on) or "-",
        _price(m.input), _price(m.output), f"{_price(m.cache_read)}/{_price(m.cache_write)}",
        m.prices_as_of or "-") for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in rows)


def _tokens(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n // 1000}k" if n < 1_000_000 else f"{n / 1_000_000:.2g}M"


def _price(p: float | None) -> str:
    return "?" if p is None else f"{p:g}"
