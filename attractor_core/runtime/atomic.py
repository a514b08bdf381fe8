"""The one write primitive for run artifacts.

Every JSON artifact goes through :func:`write_json_atomic`: a temp file in
the same directory, write, fsync, rename over the target, fsync of the
directory. A reader therefore sees either the old file or the new one,
never a torn one, and a crash leaves at most a stale ``.tmp-*`` file that
:func:`sweep_stale_temp_files` removes at start and resume.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from attractor_core.errors import RunError
from attractor_core.runtime.json_text import compact_json_bytes

TEMP_PREFIX = ".tmp-"
FILE_MODE = 0o644

# The process id in temp names, kept here because os.getpid() is a system call each time;
# a forked child takes its own.
_pid = os.getpid()


def _take_pid() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_take_pid)


class ArtifactWriteError(RunError):
    """One of the run's own files could not be written: a full disk, a run directory
    deleted under the run. The run ends with ``artifact_write_failed``."""

    def __init__(self, path: Path | str, error: OSError):
        self.path = os.fspath(path)
        self.errno = error.errno
        code = errno.errorcode.get(error.errno or 0, "")
        super().__init__(f"could not write {self.path}: [Errno {error.errno}"
                         f"{' ' + code if code else ''}] {error.strerror or error}")


def artifact_write_error(exc: BaseException) -> ArtifactWriteError | None:
    """The ArtifactWriteError that ``exc`` is or (through nurseries) holds, if any."""
    if isinstance(exc, ArtifactWriteError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := artifact_write_error(inner)) is not None:
                return found
    return None


def write_bytes_atomic(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data`` (mode 0644).

    ``durable=False`` skips both fsyncs: still atomic for readers, but the
    file may be lost in a power failure. Only for views such as live.json
    that are rewritten constantly and never needed for recovery.

    Inside :func:`directory_writes` for the file's directory the write goes through that
    directory's open descriptor and its directory fsync is the one made when the block ends.
    """
    # Plain strings and os calls: this runs several times per stage, and pathlib's
    # object churn cost more than the system calls themselves on tmpfs.
    target = os.fspath(path)
    directory, name = os.path.split(target)
    # A random suffix keeps two writers of one path (threads, processes) apart. ``random``
    # is reseeded in a forked child and, unlike os.urandom, costs no system call.
    tmp_name = f"{TEMP_PREFIX}{name}.{_pid}.{random.getrandbits(32):08x}"
    try:
        shared = _DIRECTORY.get()
        if shared is not None and shared.path == directory and shared.write(tmp_name, name, data,
                                                                             durable):
            return
        _write_and_rename(os.path.join(directory, tmp_name), target, data, durable)
        if durable:
            fsync_dir(directory or ".")
    except OSError as exc:
        raise ArtifactWriteError(target, exc) from exc


class _SharedDirectory:
    """One directory's open descriptor, and whether a rename in it still awaits its fsync."""

    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._unsynced = False
        # A worker thread of the block may write while the block ends: the descriptor is
        # never used once closed (its number may belong to another file by then).
        self._lock = threading.Lock()

    def write(self, tmp_name: str, name: str, data: bytes, durable: bool) -> bool:
        with self._lock:
            if self._fd < 0:
                return False
            _write_and_rename(tmp_name, name, data, durable, self._fd)
            self._unsynced = self._unsynced or durable
            return True

    def close(self) -> None:
        with self._lock:
            try:
                if self._unsynced:
                    os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1


_DIRECTORY: ContextVar[_SharedDirectory | None] = ContextVar("attractor_directory_writes",
                                                           default=None)


class directory_writes:
    """Atomic writes into ``directory`` (exactly that directory) made in this block, by this
    task or the tasks and threads it starts, share one open descriptor (temp file and rename
    relative to it: no path walk each time) and one directory fsync, made when the block
    ends, even on an exception.

    Every such write still fsyncs its file before the rename, so when the block has ended the
    directory holds each new file whole, exactly as after one directory fsync per write;
    before then a power failure may lose a rename (never tear a file). A kill of the process
    loses nothing: the renames are in the kernel already. So a record that says the files
    exist (a journal entry) must be written after the block. (A class, not a generator: it
    is entered at every stage attempt.)
    """

    __slots__ = ("_path", "_shared", "_token")

    def __init__(self, directory: Path | str):
        self._path = os.fspath(directory)

    def __enter__(self) -> None:
        try:
            self._shared = _SharedDirectory(self._path)
        except OSError as exc:
            raise ArtifactWriteError(self._path, exc) from exc
        self._token = _DIRECTORY.set(self._shared)

    def __exit__(self, *exc_info: object) -> None:
        _DIRECTORY.reset(self._token)
        try:
            self._shared.close()
        except OSError as exc:
            raise ArtifactWriteError(self._path, exc) from exc


def _write_and_rename(tmp: str, target: str, data: bytes, durable: bool,
                      dir_fd: int | None = None) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE,
                 dir_fd=dir_fd)
    try:
        try:
            written = os.write(fd, data)
            if written < len(data):
                _write_rest(fd, memoryview(data)[written:])
            os.fchmod(fd, FILE_MODE)  # whatever the umask
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        # A full disk or a vanished directory: leave no half-written temp file behind.
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _write_rest(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view):]


def write_json_atomic(path: Path | str, payload: Any, *, durable: bool = True,
                      compact: bool = False) -> None:
    """Serialise ``payload`` as indented JSON and write it with :func:`write_bytes_atomic`.

    ``compact=True`` writes one line instead: for artifacts written at every
    stage (checkpoint.json, status.json, live.json), since ``indent`` forces
    json's pure-Python encoder, several times slower than its C one
    (benchmarks/RESULTS.md). A value JSON cannot encode is written as its text.
    """
    if compact:
        data = compact_json_bytes(payload, newline=True)
    else:
        data = (json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n").encode()
    write_bytes_atomic(path, data, durable=durable)


def write_text_atomic(path: Path | str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def fsync_dir(directory: Path | str) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Exactly the names write_bytes_atomic makes, so a user's own ".tmp-*" files
# (a logs root may be a project directory) are never touched.
_OUR_TEMP = re.compile(re.escape(TEMP_PREFIX) + r".+\.\d+\.[0-9a-f]{8}")


def sweep_stale_temp_files(root: Path) -> int:
    """Remove temp files left by an interrupted write anywhere under ``root``.

    A directory holding ``.git`` (a git worktree a plugin keeps in the logs root) is the
    user's code, not run files: it is neither searched nor touched.
    """
    removed = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.lexists(os.path.join(folder, d, ".git"))]
        for name in files:
            if _OUR_TEMP.fullmatch(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file is missing, unreadable, not JSON
    or not an object: for records a reader may find absent or torn and can do without."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
