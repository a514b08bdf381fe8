"""``attractor validate`` through a real subprocess: output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import VALID, pipeline

BAD = pipeline('  work [prompt="p"]\n  start -> work -> exit\n  work -> start [condition="outcome=fail"]')
WARN = pipeline('  work [label="W"]\n  start -> work -> exit')


def attractor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attractor_core", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_exits_zero(tmp_path: Path) -> None:
    result = attractor("validate", write(tmp_path, "ok.dot", VALID))
    assert result.returncode == 0, result.stderr
    assert "valid (0 errors, 0 warnings)" in result.stdout


def test_warnings_only_exit_zero_and_print_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "w.dot", WARN)
    result = attractor("validate", path)
    assert result.returncode == 0
    assert f"{path}:5: warning prompt_on_llm_nodes: " in result.stdout
    assert "    fix: " in result.stdout


def test_errors_exit_one_with_file_line_severity_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.dot", BAD)
    result = attractor("validate", path)
    assert result.returncode == 1
    assert f"{path}:7: error start_no_incoming: " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_json_output_is_an_array_of_diagnostic_objects(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.dot", BAD)
    ok = write(tmp_path, "ok.dot", VALID)
    result = attractor("validate", ok, bad, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert [(d["file"], d["line"], d["rule"], d["severity"]) for d in data] == [
        (str(bad), 7, "start_no_incoming", "error")
    ]
    assert set(data[0]) == {"file", "line", "rule", "severity", "message", "node_id", "edge", "fix"}
    assert data[0]["edge"] == ["work", "start"]


def test_json_for_a_clean_file_is_an_empty_array(tmp_path: Path) -> None:
    result = attractor("validate", "--json", write(tmp_path, "ok.dot", VALID))
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


@pytest.mark.parametrize(
    "text",
    ["", "digraph {", "graph G { a -- b }", "digraph G { a [label=<b>x</b>] }", "\x00\xff garbage"],
)
def test_unparsable_input_exits_two_with_one_line_and_no_traceback(
    tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, "p.dot", text)
    result = attractor("validate", path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:")


def test_missing_and_binary_files_exit_two(tmp_path: Path) -> None:
    binary = tmp_path / "b.dot"
    binary.write_bytes(b"\xff\xfe\x00digraph")
    for path in (tmp_path / "missing.dot", binary, tmp_path):
        result = attractor("validate", path)
        assert result.returncode == 2, path
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(str(path))


def test_parse_errors_also_appear_in_json(tmp_path: Path) -> None:
    path = write(tmp_path, "p.dot", "digraph G { a -> }")
    result = attractor("validate", "--json", path, write(tmp_path, "ok.dot", VALID))
    assert result.returncode == 2
    (entry,) = json.loads(result.stdout)
    assert (entry["file"], entry["rule"], entry["severity"]) == (str(path), "parse", "error")
    assert entry["line"] == 1


def test_console_script_runs_too(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("attractor")
    if not script.exists():
        pytest.skip("console script not installed in this interpreter's bin")
    result = subprocess.run(
        [str(script), "validate", str(write(tmp_path, "ok.dot", VALID))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0


# A lexer that rescans the unterminated rest of the file at every later quote or comment
# opener is quadratic on each of these (the 80 KB one alone would take close to a minute).
PATHOLOGICAL = {
    "escaped-quotes-80k.dot": 'digraph G { a [label="' + '\\"' * 40_000,
    "escaped-quotes-1m.dot": 'digraph G { a [label="' + '\\"' * 500_000,
    "escaped-quotes-10m.dot": 'digraph G { a [label="' + '\\"' * 5_000_000,
    "open-comments-1m.dot": "digraph G { a " + "/* " * 350_000,
}


def test_malformed_files_of_megabytes_are_rejected_in_linear_time(tmp_path: Path) -> None:
    paths = [write(tmp_path, name, text) for name, text in PATHOLOGICAL.items()]
    # The timeout is the assertion: quadratic lexing of these takes hours.
    result = attractor("validate", *paths)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"{paths[0]}:1:22: unterminated string; close it with a matching \"",
        f"{paths[1]}:1:22: unterminated string; close it with a matching \"",
        f"{paths[2]}:1:22: unterminated string; close it with a matching \"",
        f"{paths[3]}:1:15: unterminated block comment; close it with */",
    ]
    assert "Traceback" not in result.stdout + result.stderr
