"""``--force-model PROVIDER=MODEL``: one model for every node of a provider, for a whole run.

The option is repeatable (one provider each). Its value reaches the run as
the option ``force_model`` (``"anthropic=claude-x,openai=gpt-y"``), so it is
recorded in manifest.json and a resume keeps it; ``resume --force-model``
replaces the recorded set as a whole (and is recorded in its place), like any
run option given to a resume. The ``api`` and ``cli``
backends apply it after the node's own ``llm_model``, the stylesheet and
the graph default: a forced provider's nodes all use the forced model.
Kept free of heavy imports: the CLI builds its parser with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

OPTION = "force_model"
ALIASES = {"google": "gemini"}


class ForceModelAction(argparse.Action):
    """Collects ``PROVIDER=MODEL`` values into one ``p=m,p=m`` string (a later one wins)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        try:
            provider, model = parse_one(str(values))
        except ValueError as exc:
            parser.error(f"{option_string} {values!r}: {exc}")
        forced = parse_forced(getattr(namespace, self.dest, None) or "")
        forced[provider] = model
        setattr(namespace, self.dest, ",".join(f"{p}={m}" for p, m in forced.items()))


def add_option(parser: argparse.ArgumentParser, *, resume: bool = False) -> str:
    group = parser.add_argument_group("LLM calls (docs/llm.md)")
    help_text = ("every node of PROVIDER uses MODEL from now on, whatever its llm_model "
                 "(repeatable; replaces the set the run recorded)" if resume else
                 "every node of PROVIDER uses MODEL in this run, whatever its llm_model "
                 "(repeatable; kept by resume)")
    group.add_argument("--force-model", metavar="PROVIDER=MODEL", dest=OPTION,
                       action=ForceModelAction, help=help_text)
    return OPTION


def parse_one(text: str) -> tuple[str, str]:
    provider, sep, model = text.partition("=")
    provider, model = provider.strip().lower(), model.strip()
    if not sep or not provider or not model or "," in text:
        raise ValueError("expected PROVIDER=MODEL, e.g. anthropic=claude-sonnet-4-5")
    return ALIASES.get(provider, provider), model


def parse_forced(option: Any) -> dict[str, str]:
    """The run option ``force_model`` as ``{provider: model}`` (empty when unset)."""
    if isinstance(option, Mapping):
        return {ALIASES.get(str(k), str(k)): str(v) for k, v in option.items()}
    if not isinstance(option, str) or not option.strip():
        return {}
    return dict(parse_one(item) for item in option.split(",") if item.strip())
