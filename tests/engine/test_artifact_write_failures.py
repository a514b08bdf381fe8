"""When the run's own files cannot be written (a full disk, a run directory deleted under
it), the run fails with ``artifact_write_failed``: a clear reason, final.json where it still
fits, no temp files, the lock released, and a resume once the space is back."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import attractor, cli_command, pipeline, read_json, read_strict_json

# The stage's status file: larger than the whole 200 KiB file system the logs root is on,
# so the engine's copy of it fails while final.json, a few hundred bytes, still fits.
BIG_STATUS = ("python3 -c 'import json; print(json.dumps({\"outcome\": \"success\", "
              "\"notes\": \"x\" * 250000}))' > status.json")
SMALL = 200 * 1024


class SmallDisk:
    """A 200 KiB logs root: a real tmpfs where mounting is allowed, else the child run
    process gets RLIMIT_FSIZE (its writes then fail with EFBIG instead of ENOSPC)."""

    def __init__(self, mount: Path):
        self.mount = mount
        self.mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SMALL // 1024}k", "tmpfs", str(mount)],
            capture_output=True, check=False).returncode == 0
        self.errno_text = "[Errno 28 ENOSPC]" if self.mounted else "[Errno 27 EFBIG]"
        self.limited = not self.mounted

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=60,
                              check=False, preexec_fn=_limit_files if self.limited else None)

    def grow(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=4m", str(self.mount)], check=True)
        self.limited = False

    def release(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.mount)], check=False)


def _limit_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL, resource.RLIM_INFINITY))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mount = tmp_path / "small"
    mount.mkdir()
    disk = SmallDisk(mount)
    try:
        yield disk
    finally:
        disk.release()


def _pipeline(tmp_path: Path, command: str) -> Path:
    # ``ulimit -f unlimited``: under the RLIMIT_FSIZE fallback only the engine is limited.
    tool = json.dumps("ulimit -f unlimited; " + command)
    return pipeline(tmp_path, f"  work [shape=parallelogram, tool_command={tool}]\n"
                              "  start -> work -> exit")


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-") or p.name == "run.lock"]


def test_a_full_disk_fails_the_run_cleanly_and_resume_finishes_it(
        tmp_path: Path, small_disk: SmallDisk) -> None:
    logs = small_disk.mount / "logs"
    work = tmp_path / "work"
    work.mkdir()
    result = small_disk.run("run", _pipeline(tmp_path, BIG_STATUS), "--logs-root", logs,
                            "--workdir", work, "--quiet")
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    failed_file = logs / "work" / "status.json"
    expected = f"could not write {failed_file}: {small_disk.errno_text}"
    assert "(artifact_write_failed): " + expected in result.stdout
    final = read_strict_json(logs / "final.json")
    assert final["status"] == "fail" and final["exit_path"] == "artifact_write_failed"
    assert final["failure_reason"].startswith(expected)
    assert final["failure_class"] == "transient_infra"
    assert _leftovers(logs) == []
    events = [json.loads(line) for line in (logs / "progress.ndjson").read_text().splitlines()]
    assert events[-1]["event"] == "run_failed"
    assert events[-1]["exit_path"] == "artifact_write_failed"

    status = attractor("status", "--logs-root", logs)
    assert status.returncode == 0
    assert "exit path artifact_write_failed" in status.stdout and expected in status.stdout

    small_disk.grow()
    resumed = small_disk.run("resume", "--logs-root", logs, "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = read_json(logs / "final.json")
    assert final["status"] == "success"
    assert final["completed_nodes"] == ["start", "work", "exit"]
    assert len(read_strict_json(failed_file)["notes"]) == 250_000
    assert _leftovers(logs) == []


def test_a_run_directory_deleted_mid_run_is_a_run_failure(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = attractor("run", _pipeline(
        # Renamed away first: a plain rm -rf races the engine's own writes into the directory
        # (live.json, processes.json) and may leave it half-deleted.
        tmp_path, 'mv "$ATTRACTOR_LOGS_ROOT" "$ATTRACTOR_LOGS_ROOT.gone" && '
                  'rm -rf "$ATTRACTOR_LOGS_ROOT.gone"'),
                       "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    summary = result.stdout.splitlines()[0]
    assert "fail (artifact_write_failed): could not write " + str(logs) in summary
    assert "[Errno 2 ENOENT] No such file or directory" in summary
    assert "the run directory, or part of it, was removed while the run ran" in summary
    assert f"final.json not written: could not write {logs / 'final.json'}" in summary
    assert not logs.exists()  # nothing recreated behind the user's back



# Appends events to progress.ndjson while the file may grow by only 40 more bytes: the
# write of the second event stops part way, as on a disk that fills up mid-line.
SHORT_WRITE = """
import resource, signal, sys
from pathlib import Path
from typing import Any
from attractor_plugins.sinks.progress_ndjson import ProgressNdjsonSink
root = Path(sys.argv[1])
sink = ProgressNdjsonSink(root)
sink.emit({"event": "first", "seq": 1})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
size = (root / "progress.ndjson").stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, resource.RLIM_INFINITY))
try:
    sink.emit({"event": "second", "seq": 2, "padding": "x" * 200})
except OSError as exc:
    print("refused:", exc.errno)
"""


def _lines(progress: Path) -> list[dict[str, Any]]:
    text = progress.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_an_event_line_cut_short_by_a_full_disk_is_taken_back(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "refused: 27"  # EFBIG after a 40-byte partial write
    assert _lines(tmp_path / "progress.ndjson") == [{"event": "first", "seq": 1}]


def test_resume_cuts_off_an_unterminated_last_event_line(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, '  work [shape=parallelogram, tool_command="exit 1"]\n'
                             "  start -> work -> exit [condition=\"outcome=success\"]")
    logs = tmp_path / "logs"
    attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    progress = logs / "progress.ndjson"
    before = _lines(progress)
    (logs / "final.json").unlink()  # as if killed while writing the next event
    with progress.open("a") as torn:
        torn.write('{"event":"stage_attempt_st')
    resumed = attractor("resume", "--logs-root", logs, "--quiet")
    assert "Traceback" not in resumed.stderr
    after = _lines(progress)
    assert after[:len(before)] == before and len(after) > len(before)
    assert after[len(before)]["event"] == "run_started"
