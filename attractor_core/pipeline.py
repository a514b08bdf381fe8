"""Preparing a pipeline (spec §9.1): parse, apply ``--set`` overrides and attribute
aliases, transform, validate.

``prepare_pipeline`` never raises for a problem in the graph: those are
diagnostics. It raises :class:`ParseError` only when the file cannot be
read or parsed. ``load_pipeline`` is the strict form the engine uses: it
also raises :class:`ValidationError` when any diagnostic is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pluggy

from attractor_core.aliases import apply_aliases
from attractor_core.dot import parse_dot, parse_file
from attractor_core.model import Graph
from attractor_core.records import Record
from attractor_core.registry import HandlerRegistry
from attractor_core.transforms import TransformError, apply_transforms
from attractor_core.validation import Diagnostic, Severity, ValidationError, validate

if TYPE_CHECKING:
    from pathlib import Path


class PreparedPipeline(Record):
    """A transformed graph and everything validation found in it."""

    __match_args__ = __slots__ = ("graph", "diagnostics")
    graph: Graph
    diagnostics: tuple[Diagnostic, ...]

    def __init__(self, graph: Graph, diagnostics: Iterable[Diagnostic] = ()) -> None:
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "diagnostics", tuple(diagnostics))

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


def prepare_pipeline(
    path: str | Path, pm: pluggy.PluginManager, overrides: Mapping[str, str] | None = None
) -> PreparedPipeline:
    """Read, parse, override, transform and validate the DOT file at ``path``."""
    return _prepare(parse_file(path), pm, overrides or {})


def prepare_source(
    text: str, file: str, pm: pluggy.PluginManager, overrides: Mapping[str, str] | None = None
) -> PreparedPipeline:
    """Like ``prepare_pipeline`` for DOT source already in memory."""
    return _prepare(parse_dot(text, file), pm, overrides or {})


def load_pipeline(
    path: str | Path, pm: pluggy.PluginManager, overrides: Mapping[str, str] | None = None
) -> Graph:
    """The graph ready to run; raises ``ParseError`` or ``ValidationError``."""
    prepared = prepare_pipeline(path, pm, overrides)
    if not prepared.ok:
        raise ValidationError(prepared.diagnostics)
    return prepared.graph


def resolve_child_path(parent_dot: Path | None, child: str) -> Path:
    """A sub-pipeline's DOT file: relative to the file that includes it (or the cwd)."""
    from pathlib import Path  # run paths only; validate does without pathlib

    base = parent_dot.parent if parent_dot is not None else Path.cwd()
    return (base / child).resolve()


def apply_overrides(graph: Graph, overrides: Mapping[str, str]) -> Graph:
    """Graph attributes from ``--set KEY=VALUE``; they replace what the file says."""
    if not overrides:
        return graph
    return graph.with_attrs(**overrides)


def _prepare(
    graph: Graph, pm: pluggy.PluginManager, overrides: Mapping[str, str]
) -> PreparedPipeline:
    # Overrides come first so that, e.g., ``--set goal=...`` reaches $goal expansion;
    # aliases next, so the transforms and rules see ``prompt`` for ``llm_prompt``.
    graph = apply_overrides(graph, overrides)
    graph = apply_aliases(graph, HandlerRegistry.from_plugins(pm).types)
    try:
        graph = apply_transforms(graph, pm)
    except TransformError as exc:
        # Still validate the graph as far as it got, so every other problem shows too.
        return PreparedPipeline(graph, [_transform_failed(graph, exc), *validate(graph, pm)])
    return PreparedPipeline(graph, validate(graph, pm))


def _transform_failed(graph: Graph, exc: TransformError) -> Diagnostic:
    return Diagnostic(
        "transform",
        Severity.ERROR,
        str(exc),
        file=graph.source_file or "<string>",
        line=1,
        fix=f"fix or uninstall the plugin that provides transform {exc.transform_name}",
    )
