"""``ParseError``: the only exception the DOT front end lets a caller see."""

from __future__ import annotations


class ParseError(Exception):
    """A DOT source cannot be read as an Attractor pipeline.

    ``str(error)`` is ``FILE:LINE:COL: message`` followed by what to do,
    ready to show to a user as is.
    """

    def __init__(self, message: str, *, file: str, line: int, column: int, hint: str = ""):
        self.message = message
        self.file = file or "<string>"
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text
