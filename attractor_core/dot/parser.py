"""Recursive-descent parser for the DOT subset of spec §2.

``parse_dot`` turns source text into a :class:`Graph`. It applies node and
edge default blocks with subgraph scoping (§2.10–2.11), derives classes
from subgraph labels, expands chained edges (§2.9) and declares a node
only where a node statement names it: an edge to an undeclared node is
left for the ``edge_target_exists`` rule to report.
"""

from __future__ import annotations

import re
from pathlib import Path

from attrs import define, field

from attractor_core.dot.errors import ParseError
from attractor_core.dot.lexer import Token, tokenize
from attractor_core.model.graph import Edge, Graph, Node

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_KEYWORDS = frozenset({"digraph", "graph", "node", "edge", "subgraph", "strict"})
_MAX_NESTING = 64


def parse_dot(source: str, file: str = "<string>") -> Graph:
    """Parse one pipeline. Raises :class:`ParseError` (and nothing else) on bad input."""
    try:
        return _Parser(tokenize(source, file), file).parse_graph()
    except RecursionError:  # pragma: no cover - nesting is bounded below
        raise ParseError("input nested too deeply", file=file, line=1, column=1) from None


def parse_file(path: str | Path) -> Graph:
    """Read and parse a DOT file; unreadable files become a ``ParseError`` too."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ParseError(f"cannot read file: {reason}", file=name, line=0, column=0,
                         hint="check the path and that the file is UTF-8 text") from None
    return parse_dot(text, name)


def derive_class(label: str) -> str:
    """``"Loop A"`` -> ``loop-a`` (spec §2.10)."""
    lowered = label.strip().lower().replace(" ", "-")
    return re.sub(r"[^a-z0-9-]", "", lowered)


@define
class _Scope:
    node_defaults: dict[str, str]
    edge_defaults: dict[str, str]
    members: list[str] = field(factory=list)
    label: str = ""


@define
class _NodeDraft:
    attrs: dict[str, str]
    line: int
    classes: list[str] = field(factory=list)


class _Parser:
    def __init__(self, tokens: list[Token], file: str):
        self.tokens = tokens
        self.pos = 0
        self.file = file
        self.graph_attrs: dict[str, str] = {}
        self.attr_lines: dict[str, int] = {}
        self.nodes: dict[str, _NodeDraft] = {}
        self.edges: list[Edge] = []

    # -- token helpers -------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def is_punct(self, text: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok.kind == "punct" and tok.text == text

    def error(self, tok: Token, message: str, hint: str = "") -> ParseError:
        return ParseError(message, file=self.file, line=tok.line, column=tok.column, hint=hint)

    def expect_punct(self, text: str, hint: str = "") -> Token:
        tok = self.advance()
        if tok.kind != "punct" or tok.text != text:
            raise self.error(tok, f"expected '{text}' but found {_describe(tok)}", hint)
        return tok

    # -- graph ---------------------------------------------------------
    def parse_graph(self) -> Graph:
        head = self.advance()
        if head.kind == "eof":
            raise self.error(head, "the file is empty", "write a pipeline: digraph Name { ... }")
        if head.kind == "word" and head.text == "strict":
            raise self.error(head, "'strict' graphs are not supported", "remove 'strict'")
        if head.kind == "word" and head.text == "graph":
            raise self.error(head, "undirected graphs are not supported",
                             "declare the pipeline with 'digraph'")
        if head.kind != "word" or head.text != "digraph":
            raise self.error(head, f"expected 'digraph' but found {_describe(head)}",
                             "a pipeline file starts with: digraph Name {")
        name = ""
        if self.peek().kind in ("word", "string") and not self.is_punct("{"):
            name = self.advance().text
        self.expect_punct("{", "open the graph body with '{'")
        root = _Scope({}, {})
        self.parse_statements(root, depth=0)
        self.expect_punct("}", "close the graph body with '}'")
        self.check_trailing()
        return self.build(name)

    def check_trailing(self) -> None:
        tok = self.peek()
        if tok.kind == "eof":
            return
        if tok.kind == "word" and tok.text in ("digraph", "graph", "strict"):
            raise self.error(tok, "more than one graph in the file",
                             "keep exactly one digraph per file")
        raise self.error(tok, f"unexpected {_describe(tok)} after the end of the graph",
                         "remove everything after the closing '}'")

    def build(self, name: str) -> Graph:
        nodes: dict[str, Node] = {}
        for node_id, draft in self.nodes.items():
            attrs = draft.attrs
            if draft.classes:
                explicit = [c.strip() for c in attrs.get("class", "").split(",") if c.strip()]
                merged = explicit + [c for c in draft.classes if c not in explicit]
                attrs = {**attrs, "class": ",".join(merged)}
            nodes[node_id] = Node(node_id, attrs, draft.line)
        return Graph(name, self.graph_attrs, nodes, tuple(self.edges), self.file,
                     self.attr_lines)

    # -- statements ----------------------------------------------------
    def parse_statements(self, scope: _Scope, depth: int) -> None:
        while True:
            tok = self.peek()
            if tok.kind == "eof" or self.is_punct("}"):
                return
            if self.is_punct(";"):
                self.advance()
                continue
            self.parse_statement(scope, depth)

    def parse_statement(self, scope: _Scope, depth: int) -> None:
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "{":
            raise self.error(tok, "anonymous '{ ... }' blocks are not supported",
                             "use 'subgraph name { ... }'")
        if tok.kind != "word":
            raise self.error(tok, f"expected a statement but found {_describe(tok)}",
                             "start a statement with a node id, 'node', 'edge', 'graph' "
                             "or 'subgraph'")
        word = tok.text
        if word in ("graph", "node", "edge") and self.is_punct("[", 1):
            self.advance()
            attrs = self.parse_attr_block()
            self.apply_defaults_block(word, attrs, scope, depth)
        elif word == "subgraph" or (word in _KEYWORDS and word != "strict"):
            self.parse_subgraph_or_keyword(scope, depth)
        elif self.is_punct("=", 1):
            self.parse_attr_decl(scope, depth)
        else:
            self.parse_node_or_edge(scope)

    def parse_subgraph_or_keyword(self, scope: _Scope, depth: int) -> None:
        tok = self.advance()
        if tok.text != "subgraph":
            raise self.error(tok, f"'{tok.text}' must be followed by an attribute block",
                             f"write {tok.text} [key=value, ...]")
        if depth + 1 > _MAX_NESTING:
            raise self.error(tok, "subgraphs nested too deeply",
                             f"nest at most {_MAX_NESTING} subgraphs")
        if self.peek().kind in ("word", "string"):
            self.advance()
        self.expect_punct("{", "open the subgraph body with '{'")
        inner = _Scope(dict(scope.node_defaults), dict(scope.edge_defaults))
        self.parse_statements(inner, depth + 1)
        self.expect_punct("}", "close the subgraph body with '}'")
        if inner.label:
            cls = derive_class(inner.label)
            for node_id in inner.members:
                if cls and cls not in self.nodes[node_id].classes:
                    self.nodes[node_id].classes.append(cls)
        scope.members.extend(inner.members)
        if self.is_punct("->", 0) or self.peek().kind == "arrow":
            raise self.error(self.peek(), "subgraphs cannot be edge endpoints",
                             "write one edge per node: a -> b")

    def apply_defaults_block(self, word: str, attrs: dict[str, tuple[str, int]],
                             scope: _Scope, depth: int) -> None:
        values = {k: v for k, (v, _) in attrs.items()}
        if word == "node":
            scope.node_defaults.update(values)
        elif word == "edge":
            scope.edge_defaults.update(values)
        elif depth == 0:
            self.graph_attrs.update(values)
            self.attr_lines.update({k: line for k, (_, line) in attrs.items()})
        elif "label" in values:
            scope.label = values["label"]

    def parse_attr_decl(self, scope: _Scope, depth: int) -> None:
        key_tok = self.advance()
        self.check_key(key_tok)
        self.advance()  # '='
        value = self.parse_value()
        if depth == 0:
            self.graph_attrs[key_tok.text] = value
            self.attr_lines[key_tok.text] = key_tok.line
        elif key_tok.text == "label":
            scope.label = value

    def parse_node_or_edge(self, scope: _Scope) -> None:
        first = self.advance()
        self.check_node_id(first)
        if self.peek().kind == "undirected":
            raise self.error(self.peek(), "undirected edge '--' is not supported",
                             "use '->' for edges")
        if self.peek().kind != "arrow":
            attrs = self.parse_attr_block() if self.is_punct("[") else {}
            self.declare_node(first, attrs, scope)
            return
        chain = [first]
        while self.peek().kind == "arrow":
            self.advance()
            target = self.advance()
            if target.kind == "punct" and target.text == "{":
                raise self.error(target, "subgraphs cannot be edge endpoints",
                                 "write one edge per node: a -> b")
            self.check_node_id(target)
            chain.append(target)
        if self.peek().kind == "undirected":
            raise self.error(self.peek(), "undirected edge '--' is not supported",
                             "use '->' for edges")
        attrs = self.parse_attr_block() if self.is_punct("[") else {}
        values = {**scope.edge_defaults, **{k: v for k, (v, _) in attrs.items()}}
        for src, dst in zip(chain, chain[1:], strict=False):
            self.edges.append(Edge(src.text, dst.text, dict(values), src.line, len(self.edges)))

    def declare_node(self, tok: Token, attrs: dict[str, tuple[str, int]], scope: _Scope) -> None:
        values = {k: v for k, (v, _) in attrs.items()}
        draft = self.nodes.get(tok.text)
        if draft is None:
            self.nodes[tok.text] = _NodeDraft({**scope.node_defaults, **values}, tok.line)
            scope.members.append(tok.text)
        else:
            draft.attrs.update(values)
        if self.is_punct("["):
            raise self.error(self.peek(), "a second attribute block on one statement",
                             "merge the attributes into one [ ... ] block")

    # -- attributes ----------------------------------------------------
    def parse_attr_block(self) -> dict[str, tuple[str, int]]:
        self.expect_punct("[")
        attrs: dict[str, tuple[str, int]] = {}
        while not self.is_punct("]"):
            key_tok = self.advance()
            if key_tok.kind == "eof":
                raise self.error(key_tok, "unterminated attribute block", "close it with ']'")
            self.check_key(key_tok)
            self.expect_punct("=", f"write {key_tok.text}=value")
            attrs[key_tok.text] = (self.parse_value(), key_tok.line)
            if self.is_punct(","):
                self.advance()
            elif not self.is_punct("]"):
                tok = self.peek()
                raise self.error(tok, f"expected ',' or ']' but found {_describe(tok)}",
                                 "separate attributes with commas: [a=1, b=2]")
        self.advance()
        return attrs

    def parse_value(self) -> str:
        tok = self.advance()
        if tok.kind == "string":
            parts = [tok.text]
            while self.is_punct("+") and self.peek(1).kind == "string":
                self.advance()
                parts.append(self.advance().text)
            return "".join(parts)
        if tok.kind == "word":
            return tok.text
        raise self.error(tok, f"expected a value but found {_describe(tok)}",
                         'quote values that contain spaces or symbols: key="..."')

    def check_key(self, tok: Token) -> None:
        if tok.kind != "word" or not _KEY.fullmatch(tok.text):
            raise self.error(tok, f"invalid attribute name {_describe(tok)}",
                             "attribute names are identifiers like max_retries or human.default_choice")

    def check_node_id(self, tok: Token) -> None:
        if tok.kind == "word" and _IDENT.fullmatch(tok.text) and tok.text not in _KEYWORDS:
            return
        if tok.kind == "word" and ":" in tok.text and _IDENT.fullmatch(tok.text.split(":")[0]):
            raise self.error(tok, f"node ports are not supported ({tok.text!r})",
                             f"refer to the node as {tok.text.split(':')[0]}")
        raise self.error(tok, f"invalid node id {_describe(tok)}",
                         "node ids are bare identifiers [A-Za-z_][A-Za-z0-9_]*; "
                         "put display text in label=\"...\"")


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of file"
    if tok.kind == "string":
        return f'string "{tok.text[:40]}"'
    return f"'{tok.text}'"
