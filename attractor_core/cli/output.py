"""The command's output channels: a reader that goes away never affects the command.

``attractor run x.dot | head -1`` closes the pipe after one line. A write to it raises
``BrokenPipeError``; left alone, that would end a run that has hours of work ahead of it.
:func:`guard_output` wraps ``sys.stdout`` and ``sys.stderr`` so that the first failed write
points the descriptor at ``/dev/null``: the command goes on, silently, and still exits with
its own code, and the interpreter's final flush finds nothing to complain about.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable
from typing import TextIO, cast

# Writes fail with EPIPE on a closed pipe or socket; EIO and ENXIO when the terminal is gone.
_READER_GONE = frozenset({errno.EPIPE, errno.EIO, errno.ENXIO, errno.ECONNRESET})


class QuietOnClosedReader(io.TextIOBase):
    """A text stream that silences itself once its reader has gone away."""

    def __init__(self, stream: TextIO):
        super().__init__()
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            self._guard(lambda: self._stream.write(text))
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            self._guard(self._stream.flush)

    def isatty(self) -> bool:
        return not self.reader_gone and self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    def _guard(self, op: Callable[[], object]) -> None:
        try:
            op()
        except OSError as exc:
            if exc.errno not in _READER_GONE:
                raise
            self._silence()

    def _silence(self) -> None:
        self.reader_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no descriptor to redirect: dropping output is enough
            pass


def guard_output() -> None:
    """Replace ``sys.stdout`` and ``sys.stderr`` with streams that survive a closed reader."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietOnClosedReader):
            setattr(sys, name, cast(TextIO, QuietOnClosedReader(stream)))
