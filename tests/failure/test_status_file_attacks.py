"""Whatever a stage leaves at a status path, the run goes on: a FIFO, a device, a directory,
a huge, deeply nested or non-finite file is a deterministic stage failure with a clear reason,
and every artifact stays strict JSON."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.engine.support import attractor, pipeline, read_strict_json


def _run(tmp_path: Path, command: str) -> Path:
    """``work`` runs ``command``; on failure the run goes on through ``fixed`` to the exit."""
    dot = pipeline(tmp_path, f"""
          work [shape=parallelogram, tool_command={json.dumps(command)}]
          fixed [shape=parallelogram, tool_command="true"]
          start -> work
          work -> exit [condition="outcome=success"]
          work -> fixed [condition="outcome=fail"]
          fixed -> exit""")
    logs = tmp_path / "logs"
    # The timeout is part of the assertion: a blocking read of any of these hangs the engine.
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet",
                       timeout=60)
    assert result.returncode == 0, result.stderr
    return logs


def _work_failure(logs: Path, status_path: Path | None = None) -> str:
    status = read_strict_json(logs / "work" / "status.json")
    final = read_strict_json(logs / "final.json")
    assert final["status"] == "success" and final["exit_path"] == "success"
    assert final["completed_nodes"] == ["start", "work", "fixed", "exit"]
    assert status["outcome"] == "fail" and status["failure_class"] == "deterministic"
    reason: str = status["failure_reason"]
    assert reason.startswith(f"{status_path or logs / 'work' / 'status.json'}: ")
    return reason


@pytest.mark.parametrize(("command", "kind"), [
    ('mkfifo "$ATTRACTOR_STATUS_PATH"', "a FIFO"),
    ('ln -s /dev/zero "$ATTRACTOR_STATUS_PATH"', "a character device"),
])
def test_a_fifo_or_device_at_the_status_path_fails_the_stage_at_once(
        tmp_path: Path, command: str, kind: str) -> None:
    logs = _run(tmp_path, command)
    assert _work_failure(logs).endswith(f"status file is not a regular file but {kind}")


def test_a_fifo_at_a_fallback_status_path_is_refused_without_blocking(tmp_path: Path) -> None:
    logs = _run(tmp_path, "mkfifo status.json")
    reason = _work_failure(logs, tmp_path / "status.json")
    assert reason.endswith("status file is not a regular file but a FIFO")


def test_a_directory_at_the_status_path_is_a_stage_failure_kept_aside(tmp_path: Path) -> None:
    logs = _run(tmp_path, 'mkdir -p "$ATTRACTOR_STATUS_PATH/inner" && touch "$ATTRACTOR_STATUS_PATH/inner/file"')
    assert _work_failure(logs).endswith(": status file is a directory")
    assert (logs / "work" / "status.json.rejected" / "inner" / "file").is_file()


def test_a_status_file_over_one_mebibyte_is_refused(tmp_path: Path) -> None:
    command = ("""python3 -c 'import sys; sys.stdout.write("{\\"outcome\\":\\"success\\","""
               """\\"notes\\":\\"" + "x" * 1100000 + "\\"}")' > "$ATTRACTOR_STATUS_PATH" """)
    logs = _run(tmp_path, command)
    assert _work_failure(logs).endswith("status file is larger than 1048576 bytes (1 MiB)")


@pytest.mark.parametrize("depth", [101, 100_000])
def test_a_status_file_nested_too_deep_is_a_stage_failure(tmp_path: Path, depth: int) -> None:
    command = (f"""python3 -c 'import sys; sys.stdout.write("{{\\"outcome\\":\\"success\\","""
               f"""\\"details\\":{{\\"x\\":" + "[" * {depth - 1} + "]" * {depth - 1} + "}}}}")'"""
               """ > "$ATTRACTOR_STATUS_PATH" """)
    logs = _run(tmp_path, command)
    assert "status file nested too deep (at most 100 levels" in _work_failure(logs)


def test_a_status_file_nested_at_the_limit_is_accepted(tmp_path: Path) -> None:
    command = ("""python3 -c 'import sys; sys.stdout.write("{\\"outcome\\":\\"success\\","""
               """\\"details\\":{\\"x\\":" + "[" * 98 + "]" * 98 + "}}")'"""
               """ > "$ATTRACTOR_STATUS_PATH" """)
    logs = _run(tmp_path, command)
    assert read_strict_json(logs / "work" / "status.json")["outcome"] == "success"
    assert read_strict_json(logs / "final.json")["completed_nodes"] == ["start", "work", "exit"]


@pytest.mark.parametrize(("value", "named"), [
    ("NaN", "NaN is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"),
    ("1e999", "number 1e999 is out of range"),
])
def test_non_finite_numbers_in_a_status_file_never_reach_the_checkpoint(
        tmp_path: Path, value: str, named: str) -> None:
    command = (f"""echo '{{"outcome":"success","context_updates":{{"score":{value}}}}}' """
               """> "$ATTRACTOR_STATUS_PATH" """)
    logs = _run(tmp_path, command)
    assert named in _work_failure(logs)
    checkpoint = read_strict_json(logs / "checkpoint.json")
    assert "score" not in checkpoint["context"]


def test_a_pseudo_file_reporting_size_zero_is_cut_off_at_the_limit(tmp_path: Path) -> None:
    # pagemap is a "regular file" of size 0 that reads as gigabytes.
    logs = _run(tmp_path, 'ln -s /proc/self/pagemap "$ATTRACTOR_STATUS_PATH"')
    assert _work_failure(logs).endswith("status file is larger than 1048576 bytes (1 MiB)")


def test_a_status_file_on_another_file_system_is_read(tmp_path: Path) -> None:
    elsewhere = Path("/dev/shm")  # a tmpfs of its own on Linux: read in a worker thread
    assert elsewhere.stat().st_dev != tmp_path.stat().st_dev
    with tempfile.NamedTemporaryFile("w", dir=elsewhere, suffix=".json") as target:
        target.write('{"outcome":"fail","failure_reason":"from another file system"}')
        target.flush()
        logs = _run(tmp_path, f'ln -s {target.name} "$ATTRACTOR_STATUS_PATH"')
    status = read_strict_json(logs / "work" / "status.json")
    assert status["outcome"] == "fail" and status["failure_reason"] == "from another file system"
