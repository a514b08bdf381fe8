"""Status ingestion: which status file, if any, decides an attempt.

Precedence: the canonical ``{stage_dir}/status.json``, then each fallback
source in order, then the handler's own outcome, then ``auto_status``,
else a failure. A file that cannot be trusted is never a success:
malformed content or a canonical file owned by another run, node or
attempt fails the attempt deterministically, naming the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pluggy
import trio
from attrs import frozen

from attractor_core.model import Node, Outcome
from attractor_core.runtime.events import StatusIngestionDecision, Warning
from attractor_core.runtime.status_files import (
    CanonicalSource,
    OpenStatusFile,
    StatusFile,
    StatusFileError,
    decode_status,
    open_status_file,
    replace_status_file,
)

from .outcome_merge import merge_outcomes
from .services import RunServices
from .stage_run import AttemptRun


def status_sources(pm: pluggy.PluginManager) -> tuple[Any, ...]:
    """The plugins' status sources, with the canonical one if none is, by precedence."""
    contributed = [s for group in pm.hook.attractor_status_sources() for s in group]
    if not any(getattr(s, "canonical", False) for s in contributed):
        contributed.append(CanonicalSource())
    return tuple(sorted(contributed, key=lambda s: s.precedence))


SourcePaths = Sequence[tuple[Any, Path]]


def source_paths(sources: Sequence[Any], run: AttemptRun, *,
                 through_canonical: bool = False) -> SourcePaths:
    """Each source with the file it names for this attempt (asked once per attempt); with
    ``through_canonical``, only the sources up to the canonical one in precedence."""
    if through_canonical:
        sources = sources[:_through_canonical(sources)]
    return [(s, s.path(run.stage_dir, run.workdir, run.run_id)) for s in sources]


def _through_canonical(sources: Sequence[Any]) -> int:
    """How many of ``sources`` (in precedence order) come up to and with the canonical one:
    the only ones that can decide an attempt whose status is in process."""
    for index, source in enumerate(sources):
        if source.canonical:
            return index + 1
    return len(sources)


def clear_stale_fallbacks(paths: SourcePaths) -> None:
    """Before an attempt: a fallback file left by anyone earlier must not decide it. What
    cannot be unlinked (a directory) stays, and ingestion reports it."""
    for source, path in paths:
        if not source.canonical:
            with contextlib.suppress(OSError):
                os.unlink(path)


@frozen
class _Read:
    """What one source's path held when the attempt ended."""

    status: StatusFile
    data: bytes
    mtime: float


Found = _Read | StatusFileError | None  # None: nothing at the path


def inspected_paths(paths: SourcePaths, run: AttemptRun) -> SourcePaths:
    """The sources an attempt's ingestion inspects: all of them, or, when the handler reported
    its status in process, those up to the canonical one. That report is a valid canonical
    status, so no source after it in precedence can decide the attempt; their files are left
    unread (and cleared when the next attempt starts)."""
    if run.reported is None:
        return paths
    return paths[:_through_canonical([source for source, _ in paths])]


async def read_sources(paths: SourcePaths, stage_dir: Path, run: AttemptRun) -> list[Found]:
    """Each source's file, read without letting it block the run.

    A status the handler reported in process (``run.reported``) is the canonical source's
    content, as if read from its file with matching ownership: the file is not read.

    Opening is non-blocking and the type and size checks use the opened descriptor, so a
    FIFO, a device or a directory is refused at once. A regular file on the stage dir's own
    file system is read in place: the engine writes its artifacts there without a thread
    anyway, and a thread hop per stage would cost more than the rest of the ingestion.
    Anything else (a symlink into /proc, a network or FUSE mount) is read in a worker
    thread that the caller's cancel scope can abandon: a read that never returns then costs
    a stage timeout or a stall, not the run.
    """
    found: list[Found | OpenStatusFile] = []
    for source, path in paths:
        if run.reported is not None and source.canonical:
            found.append(_reported(run.reported, run))
            continue
        try:
            found.append(open_status_file(path))
        except StatusFileError as exc:
            found.append(exc)
    opened = [f for f in found if isinstance(f, OpenStatusFile)]
    if not opened:  # the usual case for stages that report through their handler
        return [f for f in found if not isinstance(f, OpenStatusFile)]
    if all(f.device == _device(stage_dir) for f in opened):
        contents = iter(_read_all(opened))
    else:
        contents = iter(await trio.to_thread.run_sync(_read_all, opened,
                                                      abandon_on_cancel=True))
    return [next(contents) if isinstance(f, OpenStatusFile) else f for f in found]


def _reported(outcome: Outcome, run: AttemptRun) -> _Read:
    ownership = {"run_id": run.run_id, "node_id": run.node.id, "attempt": str(run.attempt)}
    return _Read(StatusFile(outcome, (), ownership), b"", run.started_wall)


def _device(directory: Path) -> int:
    try:
        return os.stat(directory).st_dev
    except OSError:  # the stage removed it: read in the thread, whatever the device
        return -1


def _read_all(opened: Sequence[OpenStatusFile]) -> list[Found]:
    results: list[Found] = []
    for handle in opened:
        try:
            data = handle.read()
            results.append(_Read(decode_status(data, handle.path), data, handle.mtime))
        except StatusFileError as exc:
            results.append(exc)
    return results


@frozen
class _Candidate:
    source: Any
    path: Path
    state: str  # missing | valid | malformed | stale | foreign
    outcome: Outcome | None = None
    problem: str = ""
    ownership: str = "not_applicable"
    data: bytes = b""


def ingest(services: RunServices, paths: SourcePaths, found: Sequence[Found], node: Node,
           run: AttemptRun, returned: Outcome | None, started_wall: float) -> Outcome:
    candidates = [_inspect(services, s, path, f, node, run, started_wall)
                  for (s, path), f in zip(paths, found, strict=True)]
    chosen = next((c for c in candidates if c.state == "valid"), None)
    canonical = next((c for c in candidates if c.source.canonical), None)
    decision, copied = _decide(node, chosen, canonical, candidates, returned)
    if chosen is not None and not chosen.source.canonical:
        copied = _promote(chosen, run)
    services.emit(StatusIngestionDecision(
        node.id, run.attempt, chosen.source.name if chosen else _fallback_name(decision, returned,
                                                                               node),
        tuple({"source": c.source.name, "path": str(c.path), "state": c.state}
              for c in candidates),
        chosen.ownership if chosen else (canonical.ownership if canonical else "not_applicable"),
        copied))
    return decision


def _decide(node: Node, chosen: _Candidate | None, canonical: _Candidate | None,
            candidates: Sequence[_Candidate], returned: Outcome | None) -> tuple[Outcome, bool]:
    if canonical is not None and canonical.state in ("malformed", "foreign"):
        return Outcome.fail(canonical.problem, "deterministic"), False
    if chosen is not None and chosen.outcome is not None:
        return merge_outcomes(returned, chosen.outcome), False
    malformed = [c for c in candidates if c.state == "malformed"]
    if malformed:
        return Outcome.fail("; ".join(c.problem for c in malformed), "deterministic"), False
    if returned is not None:
        return returned, False
    if node.auto_status:
        return Outcome.success("auto-status: handler completed without writing status"), False
    return Outcome.fail(f"no status reported by node {node.id}", "deterministic"), False


def _fallback_name(decision: Outcome, returned: Outcome | None, node: Node) -> str:
    if returned is not None and decision is returned:
        return "handler"
    if decision.notes.startswith("auto-status"):
        return "auto_status"
    return "none"


def _inspect(services: RunServices, source: Any, path: Path, read: Found, node: Node,
             run: AttemptRun, started_wall: float) -> _Candidate:
    if read is None:
        return _Candidate(source, path, "missing")
    if isinstance(read, StatusFileError):
        return _Candidate(source, path, "malformed", problem=str(read))
    found = read.status
    if found.unknown_keys:
        services.emit(Warning(f"{path}: unknown keys ignored: {', '.join(found.unknown_keys)}",
                              node.id))
    ownership, problem = _ownership(path, found.ownership, run)
    if ownership == "mismatch":
        return _Candidate(source, path, "foreign", problem=problem, ownership=ownership)
    if (ownership == "no_fields" and not source.canonical
            and read.mtime < started_wall - MTIME_SLACK_S):
        # Fallbacks are deleted at attempt start, so this is a file moved or copied into
        # place with an old mtime.
        return _Candidate(source, path, "stale", ownership=ownership)
    return _Candidate(source, path, "valid", found.outcome, ownership=ownership,
                      data=read.data)


def _ownership(path: Path, fields: dict[str, str], run: AttemptRun) -> tuple[str, str]:
    if not fields:
        return "no_fields", ""
    expected = {"run_id": run.run_id, "node_id": run.node.id, "attempt": run.attempt}
    if all(v == str(expected[k]) for k, v in fields.items()):
        return "match", ""
    has = " ".join(f"{k.replace('_id', '')}={v}" for k, v in fields.items())
    return "mismatch", (f"{path}: status ownership mismatch: expected run={run.run_id} "
                        f"node={run.node.id} attempt={run.attempt}, file has {has}")


# File systems stamp mtimes from a coarse clock (a few ms on Linux, 2 s on FAT), so a
# file written just after the attempt started can carry an mtime a little before it.
MTIME_SLACK_S = 2.0


def _promote(chosen: _Candidate, run: AttemptRun) -> bool:
    """Copy a chosen fallback, byte for byte as it was read, to the canonical path and
    remove it."""
    replace_status_file(run.stage_dir / "status.json", chosen.data)
    with contextlib.suppress(OSError):  # replaced by the stage meanwhile: cleared next attempt
        os.unlink(chosen.path)
    return True
