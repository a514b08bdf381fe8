"""The model stylesheet (spec §8): CSS-like defaults for a node's LLM settings.

``parse_stylesheet`` reads the ``model_stylesheet`` graph attribute into a
:class:`Stylesheet`; :meth:`Stylesheet.properties_for` resolves the
properties one node gets. Specificity: ``*`` 0 < ``shape`` 1 < ``.class`` 2
< ``#id`` 3; among equal specificity the later rule wins. The stylesheet
never overrides an attribute the node already has (see ``transforms``).
``/* comments */`` are allowed.

The properties are the spec's three (:data:`PROPERTIES`) plus the node
attributes plugins declare with ``AttributeSpec(stylesheet=True)``; the
transform and the ``stylesheet_syntax`` rule are given that set.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from attractor_core.errors import AttributeSyntaxError
from attractor_core.model.graph import Node
from attractor_core.records import Record

PROPERTIES: tuple[str, ...] = ("llm_model", "llm_provider", "reasoning_effort")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<selector>\*|[#.][A-Za-z0-9_-]+|[A-Za-z_][A-Za-z0-9_]*)(?=\s*\{)
  | (?P<punct>[{}:;])
  | (?P<bare>[A-Za-z0-9_./@+-]+)
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_CLASS_NAME = re.compile(r"[a-z0-9-]+")


class StylesheetSyntaxError(AttributeSyntaxError):
    """The stylesheet does not follow spec §8.2. ``line`` counts from 1 inside the stylesheet."""

    def __init__(self, problem: str, line: int, hint: str = ""):
        self.problem = problem
        self.line = line
        self.hint = hint
        suffix = f"; {hint}" if hint else ""
        super().__init__(f"model_stylesheet line {line}: {problem}{suffix}")


class Selector(Record):
    __match_args__ = __slots__ = ("kind", "value")
    kind: str  # "universal", "shape", "class" or "id"
    value: str

    def __init__(self, kind: str, value: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", value)

    @property
    def specificity(self) -> int:
        return {"universal": 0, "shape": 1, "class": 2, "id": 3}[self.kind]

    def matches(self, node: Node) -> bool:
        if self.kind == "universal":
            return True
        if self.kind == "shape":
            return node.shape == self.value
        if self.kind == "class":
            return self.value in node.classes
        return node.id == self.value


class StyleRule(Record):
    __match_args__ = __slots__ = ("selector", "declarations", "line")
    selector: Selector
    declarations: Mapping[str, str]
    line: int

    def __init__(self, selector: Selector, declarations: Mapping[str, str],
                 line: int = 1) -> None:
        object.__setattr__(self, "selector", selector)
        object.__setattr__(self, "declarations", declarations)
        object.__setattr__(self, "line", line)


class Stylesheet(Record):
    __match_args__ = __slots__ = ("rules",)
    rules: tuple[StyleRule, ...]

    def __init__(self, rules: tuple[StyleRule, ...] = ()) -> None:
        object.__setattr__(self, "rules", rules)

    def properties_for(self, node: Node) -> dict[str, str]:
        """Every property the stylesheet gives ``node``, by specificity then rule order."""
        matching = [r for r in self.rules if r.selector.matches(node)]
        # sorted() is stable, so equal specificity keeps source order: later rules win.
        resolved: dict[str, str] = {}
        for rule in sorted(matching, key=lambda r: r.selector.specificity):
            resolved.update(rule.declarations)
        return resolved


def parse_stylesheet(text: str, properties: Collection[str] = PROPERTIES) -> Stylesheet:
    """Parse a stylesheet; raises :class:`StylesheetSyntaxError`. Blank text has no rules.

    ``properties``: the names a declaration may set.
    """
    tokens = _tokenize(text)
    rules: list[StyleRule] = []
    pos = 0
    while pos < len(tokens):
        rule, pos = _parse_rule(tokens, pos, properties)
        rules.append(rule)
    return Stylesheet(tuple(rules))


_Token = tuple[str, str, int]  # kind, text, line


def _spec_first(name: str) -> tuple[int, str]:
    """The spec's properties in their own order, then the plugins' by name."""
    return (PROPERTIES.index(name), "") if name in PROPERTIES else (len(PROPERTIES), name)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    line = 1
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup or "bad", match.group()
        if kind == "bad":
            raise StylesheetSyntaxError(
                f"unexpected character {value!r}",
                line,
                "rules look like: .code { llm_model: gpt-5; }",
            )
        if kind != "ws":
            tokens.append((kind, value, line))
        line += value.count("\n")
    return tokens


def _parse_rule(tokens: list[_Token], pos: int, properties: Collection[str]
                ) -> tuple[StyleRule, int]:
    kind, text, line = tokens[pos]
    if kind != "selector":
        raise StylesheetSyntaxError(
            f"expected a selector before {text!r}",
            line,
            "use *, a shape name, .class or #node_id followed by {",
        )
    selector = _selector(text, line)
    pos += 2  # the selector token was matched only when followed by "{"
    declarations: dict[str, str] = {}
    while True:
        if pos >= len(tokens):
            raise StylesheetSyntaxError("rule is not closed", line, "add the missing '}'")
        if tokens[pos][1] == "}":
            return StyleRule(selector, declarations, line), pos + 1
        if tokens[pos][1] == ";":
            pos += 1
            continue
        prop, value, pos = _parse_declaration(tokens, pos, properties)
        declarations[prop] = value


def _selector(text: str, line: int) -> Selector:
    if text == "*":
        return Selector("universal")
    if text.startswith("#"):
        return Selector("id", text[1:])
    if text.startswith("."):
        if not _CLASS_NAME.fullmatch(text[1:]):
            raise StylesheetSyntaxError(
                f"class selector {text!r} is not valid",
                line,
                "class names are lowercase letters, digits and '-' "
                "(subgraph labels are derived that way)",
            )
        return Selector("class", text[1:])
    return Selector("shape", text)


def _parse_declaration(tokens: list[_Token], pos: int, properties: Collection[str]
                       ) -> tuple[str, str, int]:
    _, prop, line = tokens[pos]
    if prop not in properties:
        known = ", ".join(sorted(properties, key=_spec_first))
        raise StylesheetSyntaxError(
            f"unknown property {prop!r}", line, f"recognized properties are {known}"
        )
    if pos + 2 >= len(tokens) or tokens[pos + 1][1] != ":":
        raise StylesheetSyntaxError(f"expected ':' after {prop!r}", line, f"write {prop}: VALUE;")
    kind, value, _ = tokens[pos + 2]
    if kind not in ("string", "bare", "selector"):
        raise StylesheetSyntaxError(f"{prop!r} has no value", line, f"write {prop}: VALUE;")
    if kind == "string":
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    after = tokens[pos + 3][1] if pos + 3 < len(tokens) else ""
    if after not in (";", "}"):
        raise StylesheetSyntaxError(
            f"expected ';' or '}}' after the value of {prop!r}",
            line,
            "separate declarations with ';'",
        )
    return prop, value, pos + 3
