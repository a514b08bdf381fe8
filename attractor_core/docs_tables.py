"""Render the attribute tables of docs/dot-reference.md from the declared attribute schema.

Every attribute a pipeline may set is declared, with type, default and a doc
line, through the ``attractor_attribute_schema`` hook (the kernel's own, each
handler's, each codergen backend's). The reference's tables of graph, node
and edge attributes are this schema rendered, so they cannot drift from what
``unknown_attribute`` accepts. Each table sits between two marker comments::

    <!-- generated: NAME (python -m attractor_core.docs_tables) -->
    ...
    <!-- end generated: NAME -->

``python -m attractor_core.docs_tables`` rewrites them in place;
``--check`` exits 1 (naming the stale tables) when the file differs from
what it would write. The installed plugins are the ones whose attributes are
rendered, so run it where the built-in distributions are installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pluggy

from attractor_core.attributes import ANY_NODE, EDGE, GRAPH, AttributeSchema, AttributeSpec
from attractor_core.runtime.atomic import write_text_atomic

COMMAND = "python -m attractor_core.docs_tables"
DEFAULT_DOC = Path(__file__).resolve().parent.parent / "docs" / "dot-reference.md"
_HEADER = "| Key | Type | Default | Meaning |\n|-----|------|---------|---------|"
_REGION = re.compile(
    r"(<!-- generated: (?P<name>[\w-]+) \(.*?\) -->\n)(?P<body>.*?)(<!-- end generated: "
    r"(?P=name) -->)", re.S)


def _code(text: str) -> str:
    return f"`{text}`"


def _type(spec: AttributeSpec) -> str:
    if "|" in spec.type:
        return " / ".join(_code(choice) for choice in spec.type.split("|"))
    return spec.type


def _default(spec: AttributeSpec) -> str:
    if not spec.default:
        return '`""`' if spec.type in ("string", "comma list") else "unset"
    # A default described in words ("node timeout", "graph's") is not a value to write.
    if " " in spec.default or "'" in spec.default:
        return spec.default
    return _code(spec.default)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(specs: Sequence[AttributeSpec]) -> str:
    """One markdown table: a row per attribute, in declaration order."""
    rows = [f"| {_code(s.name)} | {_cell(_type(s))} | {_cell(_default(s))} | {_cell(s.doc)} |"
            for s in specs]
    return "\n".join([_HEADER, *rows])


def _node_types_section(schema: AttributeSchema) -> str:
    """A table per handler type that declares attributes; a type declaring exactly what an
    earlier one does points to it instead of repeating the table."""
    parts: list[str] = []
    seen: dict[tuple[AttributeSpec, ...], str] = {}
    for handler_type, by_name in schema.by_key.items():
        if handler_type in (ANY_NODE, EDGE, GRAPH) or not by_name:
            continue
        specs = tuple(by_name.values())
        parts.append(f"#### `{handler_type}` nodes\n")
        if specs in seen:
            parts.append(f"The same attributes as `{seen[specs]}` nodes.\n")
            continue
        seen[specs] = handler_type
        parts.append(table(specs) + "\n")
    return "\n".join(parts)


def render(schema: AttributeSchema) -> dict[str, str]:
    """The body of each generated region, by region name."""
    return {
        "graph-attributes": table(tuple(schema.specs(GRAPH).values())) + "\n",
        "node-attributes": table(tuple(schema.specs(ANY_NODE).values())) + "\n",
        "node-type-attributes": _node_types_section(schema),
        "edge-attributes": table(tuple(schema.specs(EDGE).values())) + "\n",
    }


def undocumented(schema: AttributeSchema) -> list[str]:
    """``KEY: NAME`` of every declared attribute without a doc line."""
    return [f"{key}: {name}" for key, by_name in schema.by_key.items()
            for name, spec in by_name.items() if not spec.doc.strip()]


def rewrite(text: str, bodies: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """``text`` with every generated region replaced, the names of the regions that changed,
    and the problems found (a region missing from ``text``, or one nothing renders)."""
    found: list[str] = []
    changed: list[str] = []
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in bodies:
            problems.append(f"unknown generated region {name!r} (known: "
                            f"{', '.join(sorted(bodies))})")
            return match.group(0)
        found.append(name)
        if match["body"] != bodies[name]:
            changed.append(name)
        return match.group(1) + bodies[name] + match.group(4)

    new = _REGION.sub(replace, text)
    problems += [f"no generated region {name!r}: add its marker comments"
                 for name in sorted(set(bodies) - set(found))]
    return new, changed, problems


def schema_of(pm: pluggy.PluginManager | None = None) -> AttributeSchema:
    from attractor_core.plugins import make_plugin_manager

    return AttributeSchema.from_plugins(pm or make_plugin_manager())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Regenerate the attribute tables of docs/dot-reference.md "
                                  "from the declared attribute schema.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the file is out of date")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    schema = schema_of()
    missing = undocumented(schema)
    if missing:
        print(f"attributes declared without a doc line: {', '.join(missing)}; give each "
              "AttributeSpec a one-line doc", file=sys.stderr)
        return 2
    new, changed, problems = rewrite(text, render(schema))
    if problems:
        print("\n".join(f"{args.path}: {problem}" for problem in problems), file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print(f"{args.path}: out of date ({', '.join(changed)}); run {COMMAND}",
                  file=sys.stderr)
            return 1
        return 0
    if changed:
        write_text_atomic(args.path, new)
        print(f"{args.path}: regenerated {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
