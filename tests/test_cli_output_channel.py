"""A reader that goes away (``| head``, a closed terminal) never affects a command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus import CORPUS

CHAIN = """digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  a [shape=parallelogram, tool_command="sleep 0.2; echo a >> trail.txt"]
  b [shape=parallelogram, tool_command="sleep 0.2; echo b >> trail.txt"]
  c [shape=parallelogram, tool_command="sleep 0.2; echo c >> trail.txt"]
  start -> a -> b -> c -> exit
}
"""


def _first_line_then_close(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` with stdout read for one line, then closed, as ``| head -1`` does."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), stderr


def test_run_piped_into_head_goes_on_to_success(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(CHAIN)
    logs = tmp_path / "logs"
    code, stderr = _first_line_then_close(
        [sys.executable, "-m", "attractor_core", "run", str(dot), "--logs-root", str(logs),
         "--workdir", str(tmp_path)])
    final = json.loads((logs / "final.json").read_text())
    assert (code, final["status"], final["exit_path"]) == (0, "success", "success"), stderr
    assert (tmp_path / "trail.txt").read_text().split() == ["a", "b", "c"]
    assert "Traceback" not in stderr and "internal error" not in stderr


def test_validate_json_piped_into_head_exits_quietly_with_its_own_code(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(CHAIN.replace("start [shape=Mdiamond]", "start [shape=Mdiamond]\n"
                                 + "\n".join(f"  n{i} [shape=box]" for i in range(300))))
    code, stderr = _first_line_then_close(
        [sys.executable, "-m", "attractor_core", "validate", "--json", str(dot)])
    assert stderr == ""
    assert code == 1  # 300 unreachable nodes: validation errors, reported by the exit code


def test_status_piped_into_head_exits_quietly(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(CHAIN)
    logs = tmp_path / "logs"
    subprocess.run([sys.executable, "-m", "attractor_core", "run", str(dot), "--quiet",
                    "--logs-root", str(logs), "--workdir", str(tmp_path)],
                   check=True, capture_output=True, timeout=60)
    code, stderr = _first_line_then_close(
        [sys.executable, "-m", "attractor_core", "status", "--logs-root", str(logs)])
    assert (code, stderr) == (0, "")


def test_validate_of_the_whole_corpus_into_head_writes_no_crash_file() -> None:
    if not CORPUS.is_dir():
        return
    files = sorted(str(p) for p in CORPUS.glob("*.dot"))
    code, stderr = _first_line_then_close(
        [sys.executable, "-m", "attractor_core", "validate", "--json", *files])
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert code == 2  # the corpus holds a file that is not a pipeline
