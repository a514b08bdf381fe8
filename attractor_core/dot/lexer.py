"""Tokenizer for the DOT subset of spec §2.2.

One master regular expression walks the source; every character is either
part of a token, whitespace, a comment, or an error naming line and column.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from attractor_core.dot.errors import ParseError

# A word is any bare run that could be an identifier, a keyword or a bare
# value (numbers, durations, ``gpt-5.3``, ``a:b``). A ``-`` followed by ``>``
# or ``-`` ends the word, so ``a->b`` needs no spaces.
_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
  | (?P<arrow>->)
  | (?P<undirected>--)
  | (?P<word>(?:[A-Za-z0-9_.:]|-(?![->]))+)
  | (?P<punct>[\[\]{}=;,+])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {'"': '"', "n": "\n", "t": "\t", "\\": "\\", "\n": ""}


class Token(NamedTuple):
    kind: str  # word, string, arrow, undirected, punct, eof
    text: str  # for strings: the unescaped value
    line: int
    column: int


def tokenize(source: str, file: str) -> list[Token]:
    """Split ``source`` into tokens; raise ``ParseError`` on anything else."""
    tokens: list[Token] = []
    append = tokens.append
    pos, line, line_start = 0, 1, 0
    end = len(source)
    match = _TOKEN.match
    while pos < end:
        m = match(source, pos)
        if m is None:
            _raise_bad_char(source, pos, line, pos - line_start + 1, file)
        kind = m.lastgroup
        text = m.group()
        if kind == "string":
            append(Token("string", unescape(text[1:-1]), line, pos - line_start + 1))
        elif kind == "word" or kind == "arrow" or kind == "undirected" or kind == "punct":
            append(Token(kind, text, line, pos - line_start + 1))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rindex("\n") + 1
        pos = m.end()
    append(Token("eof", "", line, pos - line_start + 1))
    return tokens


def unescape(body: str) -> str:
    """Apply the spec's escapes; an unknown escape is kept verbatim."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _raise_bad_char(source: str, pos: int, line: int, column: int, file: str) -> None:
    ch = source[pos]
    if ch == '"':
        raise ParseError("unterminated string", file=file, line=line, column=column,
                         hint='close it with a matching "')
    if source.startswith("/*", pos):
        raise ParseError("unterminated block comment", file=file, line=line, column=column,
                         hint="close it with */")
    if ch == "<":
        raise ParseError("HTML labels are not supported", file=file, line=line, column=column,
                         hint='write the value as a quoted string, e.g. label="Review"')
    if ch == "#":
        raise ParseError("'#' lines are not DOT comments here", file=file, line=line,
                         column=column, hint="use // or /* */ for comments")
    raise ParseError(f"unexpected character {ch!r}", file=file, line=line, column=column,
                     hint="remove it or quote the value it belongs to")
