"""A human gate without a usable answer fails clearly and stops the run instead of
taking an option nobody chose; the console asks at most three times."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.engine.support import cli_command, events, final, visited, write
from tests.handlers.test_cli_end_to_end import GATE_PIPELINE

# ``rework`` loops back to the gate: a failed gate that took an option edge would
# spin there until the cycle breaker.
GATE = GATE_PIPELINE.replace("rework -> done", "rework -> review") % ""


def _run(tmp_path: Path, interviewer: str, typed: str | None) -> tuple[int, str, Path]:
    dot = write(tmp_path, GATE)
    root = tmp_path / "logs"
    command = cli_command("run", dot, "--logs-root", root, "--workdir", tmp_path,
                          "--interviewer", interviewer)
    result = subprocess.run(command, input=typed, stdin=None if typed is not None
                            else subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr, root


def _stopped_at_the_gate(root: Path) -> dict[str, object]:
    data = final(root)
    assert (data["status"], data["exit_path"]) == ("fail", "stage_failed")
    assert data["failed_node_id"] == "review"
    assert visited(root) == ["start", "review"]
    assert not events(root, "node_visit_breaker") and not events(root, "cycle_breaker")
    return data


def test_closed_console_input_fails_the_gate_and_stops_the_run(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, "console", None)
    assert code == 1
    assert "fail (stage_failed) at review: human gate review: not answered" in out
    data = _stopped_at_the_gate(root)
    assert data["failure_reason"] == (
        "human gate review: not answered: console input closed before an answer")


def test_three_answers_that_name_no_option_fail_the_gate(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, "console", "maybe\nx\nlater\nS\n")
    assert code == 1
    data = _stopped_at_the_gate(root)
    assert data["failure_reason"] == (
        "human gate review: not answered: no valid answer after 3 tries "
        "('maybe', 'x', 'later'); type one of S, R (or a label or number)")
    assert out.count("is not an option") == 3
    assert out.count("Select: ") == 3  # asked three times, not a fourth
    # Each option is shown once, its accelerator once.
    assert "  [S] Ship\n" in out and "[S] [S]" not in out


def test_a_typo_is_asked_again_and_then_answered(tmp_path: Path) -> None:
    code, out, root = _run(tmp_path, "console", "maybe\nship\n")
    assert code == 0, out
    assert visited(root) == ["start", "review", "ship", "done"]
    assert final(root)["exit_node"] == "done"


def test_an_unknown_key_in_a_queue_file_fails_the_gate_once(tmp_path: Path) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("X\n")
    code, _, root = _run(tmp_path, f"queue:{answers}", "")
    assert code == 1
    data = _stopped_at_the_gate(root)
    assert data["failure_reason"] == ("human gate review: answer 'X' matches no option; "
                                      "options: [S] Ship, [R] Rework")
