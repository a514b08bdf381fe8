"""Tokenizer for the DOT subset of spec §2.2.

One regular expression, applied with ``findall``, splits the source into
(skipped text, token) pairs: every character is either whitespace, a
comment, part of a token, or an error naming line and column. Tokens
carry only their character offset; :class:`SourceMap` turns an offset
into a line and column when one is needed (node lines, errors), which
keeps the per-token cost low on large pipelines.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from attractor_core.dot.errors import ParseError

# Group 1 is the whitespace and comments before a token; groups 2-5 are the
# token itself, at most one of them non-empty. A word is any bare run that
# could be an identifier, a keyword or a bare value (numbers, durations,
# ``gpt-5.3``, ``a:b``); a ``-`` followed by ``>`` or ``-`` ends the word, so
# ``a->b`` needs no spaces. Group 5 catches any other character, so an
# error is raised where the problem is instead of being skipped; it takes the
# rest of the source with it, because ``findall`` would otherwise go on past
# the error, and an unterminated string or comment rescanned to the end at
# every later quote or ``/*`` makes tokenizing quadratic in the file's size.
_TOKEN = re.compile(
    r"""
    ([ \t\r\n\f\v]*(?:(?://[^\n]*|/\*.*?\*/)[ \t\r\n\f\v]*)*)
    (?: ("[^"\\]*(?:\\.[^"\\]*)*")
      | ((?:[A-Za-z0-9_.:]+|-(?![->]))+)
      | (->|--|[\[\]{}=;,+])
      | (.+)
    )?
    """,
    re.VERBOSE | re.DOTALL,
)

# Backslash-newline is Graphviz's line continuation inside strings; every
# other unknown escape (\l, \r, \$ ...) is kept verbatim.


# (kind, text, offset). kind is "word", "string", "punct" (including -> and
# --) or "eof"; text is the unescaped value for strings; offset is where the
# token starts. Plain tuples: building 80,000 named tuples costs more than
# the whole parse of a 5,000-node pipeline should.
Token = tuple[str, str, int]


class SourceMap:
    """Turns character offsets into 1-based (line, column) pairs."""

    def __init__(self, source: str):
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\n", source))

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def tokenize(source: str, file: str) -> list[Token]:
    """Split ``source`` into tokens ending with two ``eof`` sentinels.

    Tokenizing stops at the first character that is not DOT: a ``bad`` token stands
    there, and :func:`bad_token_error` says what is wrong with it. The parser reports
    it only if nothing before it is already wrong, so a file that stops being DOT at
    line 1 is reported at line 1, not at a stray character deep inside.
    """
    tokens: list[Token] = []
    append = tokens.append
    pos = 0
    for skipped, string, word, punct, bad in _TOKEN.findall(source):
        pos += len(skipped)
        if word:
            append(("word", word, pos))
            pos += len(word)
        elif punct:
            append(("punct", punct, pos))
            pos += len(punct)
        elif string:
            body = string[1:-1]
            append(("string", unescape(body) if "\\" in body else body, pos))
            pos += len(string)
        elif bad:
            append(("bad", "", pos))
            break
    # Two sentinels let the parser look one token past the end without checks.
    append(("eof", "", pos))
    append(("eof", "", pos))
    return tokens


def bad_token_error(source: str, token: Token, file: str) -> ParseError:
    """The error a ``bad`` token stands for (an unterminated string, a stray character...)."""
    return _bad_character(source, token[2], file)


def unescape(body: str) -> str:
    """Apply the spec's escapes; an unknown escape is kept verbatim.

    Splitting on ``\\\\`` first pairs backslashes left to right exactly as
    escapes are read, so the remaining parts hold only single-backslash
    escapes and plain ``str.replace`` handles them (far faster than a regex
    callback on prompt-heavy pipelines). No replacement can create a new
    escape: inside a part a backslash is never preceded by another one.
    """
    return "\\".join(
        # Continuations first: a newline produced by "\\n" must not complete one.
        part.replace("\\\r\n", "").replace("\\\n", "")
        .replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t")
        for part in body.split("\\\\")
    )


def _bad_character(source: str, pos: int, file: str) -> ParseError:
    line, column = SourceMap(source).position(pos)
    ch = source[pos]

    def error(message: str, hint: str) -> ParseError:
        return ParseError(message, file=file, line=line, column=column, hint=hint)

    if ch == '"':
        return error("unterminated string", 'close it with a matching "')
    if source.startswith("/*", pos):
        return error("unterminated block comment", "close it with */")
    if ch == "<":
        return error("HTML labels are not supported",
                     'write the value as a quoted string, e.g. label="Review"')
    if ch == "#":
        return error("'#' lines are not DOT comments here", "use // or /* */ for comments")
    return error(f"unexpected character {ch!r}", "remove it or quote the value it belongs to")
