"""Recursive-descent parser for the DOT subset of spec §2.

``parse_dot`` turns source text into a :class:`Graph`. It applies node and
edge default blocks with subgraph scoping (§2.10–2.11), derives classes
from subgraph labels, expands chained edges (§2.9) and declares a node
only where a node statement names it: an edge to an undeclared node is
left for the ``edge_target_exists`` rule to report.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING

from attractor_core.dot.errors import ParseError
from attractor_core.dot.lexer import SourceMap, Token, bad_token_error, tokenize
from attractor_core.model.graph import Edge, Graph, Node

if TYPE_CHECKING:
    from pathlib import Path

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_KEYWORDS = frozenset({"digraph", "graph", "node", "edge", "subgraph", "strict"})
_MAX_NESTING = 64


def parse_dot(source: str, file: str = "<string>") -> Graph:
    """Parse one pipeline. Raises :class:`ParseError` (and nothing else) on bad input."""
    if source.startswith("\ufeff"):  # a UTF-8 byte-order mark some editors write
        source = source[1:]
    parser = _Parser(tokenize(source, file), SourceMap(source), file)
    try:
        return parser.parse_graph()
    except ParseError as exc:
        bad = parser.tokens[-3] if len(parser.tokens) >= 3 else None
        if bad is not None and bad[0] == "bad" and parser.reached(bad):
            raise bad_token_error(source, bad, file) from None
        raise exc


def parse_file(path: str | Path) -> Graph:
    """Read and parse a DOT file; unreadable or non-UTF-8 files become a ``ParseError`` too."""
    name = str(path)
    try:
        with open(path, "rb") as file:  # not pathlib: validate starts without importing it
            data = file.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ParseError(f"cannot read file: {reason}", file=name, line=0, column=0,
                         hint="check that the path names a readable DOT file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8")) + 1
        raise ParseError(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                         file=name, line=line, column=column,
                         hint="save the file as UTF-8 text") from None
    return parse_dot(text, name)


def derive_class(label: str) -> str:
    """``"Loop A"`` -> ``loop-a`` (spec §2.10)."""
    lowered = label.strip().lower().replace(" ", "-")
    return re.sub(r"[^a-z0-9-]", "", lowered)


class _Scope:
    """The defaults in force inside one graph or subgraph body."""

    __slots__ = ("edge_defaults", "label", "members", "node_defaults")

    def __init__(self, node_defaults: dict[str, str], edge_defaults: dict[str, str]) -> None:
        self.node_defaults = node_defaults
        self.edge_defaults = edge_defaults
        self.members: list[str] = []
        self.label = ""

    def nested(self) -> _Scope:
        # A subgraph starts from a copy, so its own default blocks cannot leak out.
        return _Scope(dict(self.node_defaults), dict(self.edge_defaults))


class _NodeDraft:
    __slots__ = ("attribute_lines", "attrs", "classes", "line")

    def __init__(self, attrs: dict[str, str], line: int) -> None:
        self.attrs = attrs
        self.line = line
        self.classes: list[str] = []
        # Lines of the node statements that gave it attributes (the first one included).
        self.attribute_lines: list[int] = []




class _Parser:
    """One pass over the token list; recursion only for nested subgraphs."""

    def __init__(self, tokens: list[Token], lines: SourceMap, file: str):
        self.tokens = tokens
        self.pos = 0
        self.lines = lines
        self.file = file
        self.graph_attrs: dict[str, str] = {}
        self.attr_lines: dict[str, int] = {}
        self.nodes: dict[str, _NodeDraft] = {}
        self.edges: list[Edge] = []
        self.valid_keys: set[str] = set()  # attribute names already checked
        self.valid_ids: set[str] = set()  # node ids already checked

    # -- token helpers -------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[self.pos + offset]  # safe: tokenize ends with two eof sentinels

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok[0] != "eof":
            self.pos += 1
        return tok

    def is_punct(self, text: str, offset: int = 0) -> bool:
        tok = self.tokens[self.pos + offset]
        return tok[1] == text and tok[0] == "punct"

    def line(self, tok: Token) -> int:
        return self.lines.line(tok[2])

    def reached(self, tok: Token) -> bool:
        """Whether parsing got as far as ``tok`` (its error is then the one to report)."""
        return self.tokens[min(self.pos, len(self.tokens) - 1)][2] >= tok[2]

    def error(self, tok: Token, message: str, hint: str = "") -> ParseError:
        line, column = self.lines.position(tok[2])
        return ParseError(message, file=self.file, line=line, column=column, hint=hint)

    def expect_punct(self, text: str, hint: str = "") -> Token:
        tok = self.advance()
        if tok[0] != "punct" or tok[1] != text:
            raise self.error(tok, f"expected '{text}' but found {_describe(tok)}", hint)
        return tok

    # -- graph ---------------------------------------------------------
    def parse_graph(self) -> Graph:
        head = self.advance()
        self.check_header(head)
        name = ""
        if self.peek()[0] in ("word", "string"):
            name = self.advance()[1]
        opening = self.expect_punct("{", "open the graph body with '{'")
        self.parse_statements(_Scope({}, {}), depth=0)
        self.expect_punct("}", f"close the graph body opened on line {self.line(opening)} "
                               "with '}'")
        self.check_trailing()
        return self.build(name)

    def check_header(self, head: Token) -> None:
        if head[0] == "eof":
            raise self.error(head, "the file is empty", "write a pipeline: digraph Name { ... }")
        if head[0] == "word" and head[1] == "strict":
            raise self.error(head, "'strict' graphs are not supported", "remove 'strict'")
        if head[0] == "word" and head[1] == "graph":
            raise self.error(head, "undirected graphs are not supported",
                             "declare the pipeline with 'digraph'")
        if head[0] != "word" or head[1] != "digraph":
            raise self.error(head, f"expected 'digraph' but found {_describe(head)}",
                             "a pipeline file starts with: digraph Name {")

    def check_trailing(self) -> None:
        tok = self.peek()
        if tok[0] == "eof":
            return
        if tok[0] == "word" and tok[1] in ("digraph", "graph", "strict"):
            raise self.error(tok, "more than one graph in the file",
                             "keep exactly one digraph per file")
        raise self.error(tok, f"unexpected {_describe(tok)} after the end of the graph",
                         "remove everything after the closing '}'")

    def build(self, name: str) -> Graph:
        nodes: dict[str, Node] = {}
        redeclared = {node_id: tuple(draft.attribute_lines) for node_id, draft
                      in self.nodes.items() if len(draft.attribute_lines) > 1}
        for node_id, draft in self.nodes.items():
            attrs = draft.attrs
            if draft.classes:
                explicit = [c.strip() for c in attrs.get("class", "").split(",") if c.strip()]
                merged = explicit + [c for c in draft.classes if c not in explicit]
                attrs = {**attrs, "class": ",".join(merged)}
            nodes[node_id] = Node(node_id, attrs, draft.line)
        return Graph(name, self.graph_attrs, nodes, tuple(self.edges), self.file,
                     self.attr_lines, redeclared)

    # -- statements ----------------------------------------------------
    def parse_statements(self, scope: _Scope, depth: int) -> None:
        tokens = self.tokens
        while True:
            tok = tokens[self.pos]
            if tok[0] == "eof" or (tok[0] == "punct" and tok[1] == "}"):
                return
            if tok[0] == "punct" and tok[1] == ";":
                self.pos += 1
            elif (tok[0] == "word" and tok[1] not in _KEYWORDS
                  and tokens[self.pos + 1][1] in ("->", "[")
                  and tokens[self.pos + 1][0] == "punct"):
                self.parse_node_or_edge(scope)  # the common case, decided in one look
            else:
                self.parse_statement(scope, depth)

    def parse_statement(self, scope: _Scope, depth: int) -> None:
        tok = self.peek()
        if tok[0] == "punct" and tok[1] == "{":
            raise self.error(tok, "anonymous '{ ... }' blocks are not supported",
                             "use 'subgraph name { ... }'")
        if tok[0] == "string":
            raise self.error(tok, f"node ids cannot be quoted ({_describe(tok)})",
                             "use a bare identifier like review_code and put the text "
                             'in label="..."')
        if tok[0] != "word":
            raise self.error(tok, f"expected a statement but found {_describe(tok)}",
                             "start a statement with a node id, 'node', 'edge', 'graph' "
                             "or 'subgraph'")
        word = tok[1]
        if word in ("graph", "node", "edge") and self.is_punct("[", 1):
            self.advance()
            self.apply_defaults_block(word, scope, depth)
        elif word in _KEYWORDS and word != "strict":
            self.parse_subgraph_or_keyword(scope, depth)
        elif self.is_punct("=", 1):
            self.parse_attr_decl(scope, depth)
        else:
            self.parse_node_or_edge(scope)

    def parse_subgraph_or_keyword(self, scope: _Scope, depth: int) -> None:
        tok = self.advance()
        if tok[1] == "digraph":
            raise self.error(tok, "a digraph cannot appear inside another graph",
                             "keep exactly one digraph per file; use 'subgraph' to group nodes")
        if tok[1] != "subgraph":
            raise self.error(tok, f"'{tok[1]}' must be followed by an attribute block",
                             f"write {tok[1]} [key=value, ...]")
        if depth + 1 > _MAX_NESTING:  # bounds the recursion: deep input is an error, not a crash
            raise self.error(tok, "subgraphs nested too deeply",
                             f"nest at most {_MAX_NESTING} subgraphs")
        if self.peek()[0] in ("word", "string"):
            self.advance()
        opening = self.expect_punct("{", "open the subgraph body with '{'")
        inner = scope.nested()
        self.parse_statements(inner, depth + 1)
        self.expect_punct("}", f"close the subgraph opened on line {self.line(opening)} "
                               "with '}'")
        self.adopt_members(inner, scope)
        if self.is_punct("->"):
            raise self.error(self.peek(), "subgraphs cannot be edge endpoints",
                             "write one edge per node: a -> b")

    def adopt_members(self, inner: _Scope, outer: _Scope) -> None:
        """Give the subgraph's class to its members; they also belong to the outer scope."""
        cls = derive_class(inner.label) if inner.label else ""
        if cls:
            for node_id in inner.members:
                classes = self.nodes[node_id].classes
                if cls not in classes:
                    classes.append(cls)
        outer.members.extend(inner.members)

    def apply_defaults_block(self, word: str, scope: _Scope, depth: int) -> None:
        key_lines: dict[str, int] = {}
        values = self.parse_attr_block(key_lines)
        if word == "node":
            scope.node_defaults.update(values)
        elif word == "edge":
            scope.edge_defaults.update(values)
        elif depth == 0:
            self.graph_attrs.update(values)
            self.attr_lines.update(key_lines)
        elif "label" in values:
            scope.label = values["label"]

    def parse_attr_decl(self, scope: _Scope, depth: int) -> None:
        key_tok = self.advance()
        self.check_key(key_tok)
        self.advance()  # '='
        value = self.parse_value()
        if depth == 0:
            self.graph_attrs[key_tok[1]] = value
            self.attr_lines[key_tok[1]] = self.line(key_tok)
        elif key_tok[1] == "label":
            scope.label = value

    def parse_node_or_edge(self, scope: _Scope) -> None:
        first = self.advance()
        self.check_node_id(first)
        self.reject_undirected()
        if not self.is_punct("->"):
            attrs = self.parse_attr_block() if self.is_punct("[") else {}
            self.declare_node(first, attrs, scope)
            return
        chain = [first]
        while self.is_punct("->"):
            self.advance()
            target = self.advance()
            if target[1] in ("{", "subgraph") and target[0] != "string":
                raise self.error(target, "subgraphs cannot be edge endpoints",
                                 "write one edge per node: a -> b")
            self.check_node_id(target)
            chain.append(target)
        self.reject_undirected()
        attrs = self.parse_attr_block() if self.is_punct("[") else {}
        self.reject_second_block()
        values = {**scope.edge_defaults, **attrs}
        for src, dst in pairwise(chain):
            self.edges.append(Edge(src[1], dst[1], dict(values), self.line(src),
                                   len(self.edges)))

    def reject_undirected(self) -> None:
        if self.is_punct("--"):
            raise self.error(self.peek(), "undirected edge '--' is not supported",
                             "use '->' for edges")

    def declare_node(self, tok: Token, values: dict[str, str], scope: _Scope) -> None:
        draft = self.nodes.get(tok[1])
        if draft is None:
            # Defaults apply when a node is first declared, as in Graphviz.
            draft = _NodeDraft({**scope.node_defaults, **values}, self.line(tok))
            self.nodes[tok[1]] = draft
        else:
            draft.attrs.update(values)
        if values:
            draft.attribute_lines.append(self.line(tok))
        # A redeclaration inside a subgraph also makes the node a member of it.
        scope.members.append(tok[1])
        self.reject_second_block()

    def reject_second_block(self) -> None:
        if self.is_punct("["):
            raise self.error(self.peek(), "a second attribute block on one statement",
                             "merge the attributes into one [ ... ] block")

    # -- attributes ----------------------------------------------------
    def parse_attr_block(self, key_lines: dict[str, int] | None = None) -> dict[str, str]:
        """``[k=v, ...]``; records each key's line in ``key_lines`` when given.

        Written with local lookups because it is the hot loop of the parser.
        """
        opening = self.expect_punct("[")
        tokens, valid_keys = self.tokens, self.valid_keys
        attrs: dict[str, str] = {}
        while True:
            key_tok = tokens[self.pos]
            kind, key, _ = key_tok
            if kind == "punct" and key == "]":
                self.pos += 1
                return attrs
            if kind == "eof":
                raise self.unterminated_block(key_tok, opening)
            if kind != "word" or key not in valid_keys:
                self.check_key(key_tok)
                valid_keys.add(key)
            self.pos += 1
            self.expect_punct("=", f"write {key}=value")
            attrs[key] = self.parse_value()
            if key_lines is not None:
                key_lines[key] = self.line(key_tok)
            kind, text, _ = tokens[self.pos]
            if kind == "punct" and text == ",":
                self.pos += 1
            elif kind == "eof":
                raise self.unterminated_block(tokens[self.pos], opening)
            elif kind != "punct" or text != "]":
                raise self.error(tokens[self.pos], f"expected ',' or ']' but found "
                                 f"{_describe(tokens[self.pos])}",
                                 "separate attributes with commas: [a=1, b=2]")

    def unterminated_block(self, tok: Token, opening: Token) -> ParseError:
        return self.error(tok, "unterminated attribute block",
                          f"close the '[' opened on line {self.line(opening)} with ']'")

    def parse_value(self) -> str:
        tok = self.tokens[self.pos]
        kind, text, _ = tok
        if kind == "word":
            self.pos += 1
            return text
        if kind != "string":
            raise self.error(tok, f"expected a value but found {_describe(tok)}",
                             'quote values that contain spaces or symbols: key="..."')
        self.pos += 1
        parts = [text]
        while self.is_punct("+") and self.peek(1)[0] == "string":
            parts.append(self.tokens[self.pos + 1][1])
            self.pos += 2
        return "".join(parts)

    def check_key(self, tok: Token) -> None:
        if tok[0] != "word" or not _KEY.fullmatch(tok[1]):
            raise self.error(tok, f"invalid attribute name {_describe(tok)}",
                             "attribute names are identifiers like max_retries or "
                             "human.default_choice")

    def check_node_id(self, tok: Token) -> None:
        if tok[0] == "word" and (tok[1] in self.valid_ids or (_IDENT.fullmatch(tok[1])
                                 and tok[1] not in _KEYWORDS)):
            self.valid_ids.add(tok[1])
            return
        if tok[0] not in ("word", "string"):
            raise self.error(tok, f"expected a node id but found {_describe(tok)}",
                             "an edge needs a node id on both sides: a -> b")
        if tok[0] == "word" and ":" in tok[1] and _IDENT.fullmatch(tok[1].split(":")[0]):
            raise self.error(tok, f"node ports are not supported ({tok[1]!r})",
                             f"refer to the node as {tok[1].split(':')[0]}")
        raise self.error(tok, f"invalid node id {_describe(tok)}",
                         "node ids are bare identifiers [A-Za-z_][A-Za-z0-9_]*; "
                         'put display text in label="..."')


def _describe(tok: Token) -> str:
    if tok[0] == "eof":
        return "end of file"
    if tok[0] == "string":
        return f'string "{tok[1][:40]}"'
    return f"'{tok[1]}'"
