"""``ParseError``: the only exception the DOT front end lets a caller see.

``parse_dot`` and ``parse_file`` turn every problem with their input (bad
syntax, an unsupported Graphviz feature, an unreadable or non-UTF-8 file)
into one ``ParseError``; nothing else escapes them.
"""

from __future__ import annotations

from attractor_core.errors import InputError


class ParseError(InputError):
    """A DOT source cannot be read as an Attractor pipeline.

    ``file``, ``line`` and ``column`` (both 1-based) say where; ``line`` is 0
    when the problem is the file itself (missing, unreadable). ``str(error)``
    is ``FILE:LINE:COL: message; hint``, ready to show to a user as is.
    """

    def __init__(self, message: str, *, file: str, line: int, column: int, hint: str = ""):
        self.message = message
        self.file = file or "<string>"
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line > 0 else self.file
        text = f"{where}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments break default exception pickling (trio.to_thread, multiprocessing).
        return (_rebuild, (self.message, self.file, self.line, self.column, self.hint))


def _rebuild(message: str, file: str, line: int, column: int, hint: str) -> ParseError:
    return ParseError(message, file=file, line=line, column=column, hint=hint)
