"""Status ingestion: precedence, ownership, malformed files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.engine.support import attractor


def _run(tmp_path: Path, command: str, extra: str = "", *args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dot = tmp_path / "p.dot"
    dot.write_text(textwrap.dedent(f"""
        digraph P {{
          start [shape=Mdiamond]
          exit [shape=Msquare]
          work [shape=parallelogram, tool_command={json.dumps(command)}{extra}]
          fixed [shape=parallelogram, tool_command="true"]
          start -> work
          work -> exit [condition="outcome=success"]
          work -> fixed [condition="outcome=fail"]
          work -> exit [label="other"]
          fixed -> exit
        }}
    """))
    logs = tmp_path / "logs"
    attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet", *args)
    events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
    status = json.loads((logs / "work" / "status.json").read_text())
    return status, events


def _decision(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["event"] == "status_ingestion_decision"
                and e["node_id"] == "work")


def test_canonical_status_overrides_exit_code(tmp_path: Path) -> None:
    status, events = _run(
        tmp_path, """echo '{"outcome":"FAIL","failure_reason":"lint failed"}' > "$ATTRACTOR_STATUS_PATH" """)
    assert status["outcome"] == "fail" and status["failure_reason"] == "lint failed"
    decision = _decision(events)
    assert decision["chosen_source"] == "canonical"
    assert [c["state"] for c in decision["candidates"]] == ["valid", "missing", "missing"]


def test_worktree_fallback_is_copied_to_canonical_and_removed(tmp_path: Path) -> None:
    status, events = _run(tmp_path, """echo '{"status":"fail","failure_reason":"from worktree"}' > status.json""")
    assert status["failure_reason"] == "from worktree"
    decision = _decision(events)
    assert decision["chosen_source"] == "worktree" and decision["copied_to_canonical"] is True
    assert not (tmp_path / "status.json").exists()


def test_ai_fallback_with_matching_ownership(tmp_path: Path) -> None:
    command = ('mkdir -p .ai/runs/$ATTRACTOR_RUN_ID && printf \'{"outcome":"fail","failure_reason":"ai",'
               '"run_id":"%s","node_id":"%s","attempt":%s}\' "$ATTRACTOR_RUN_ID" "$ATTRACTOR_NODE_ID" '
               '"$ATTRACTOR_ATTEMPT" > .ai/runs/$ATTRACTOR_RUN_ID/status.json')
    status, events = _run(tmp_path, command)
    decision = _decision(events)
    assert decision["chosen_source"] == "ai" and decision["ownership_result"] == "match"
    assert status["failure_reason"] == "ai"


def test_canonical_ownership_mismatch_fails_deterministically(tmp_path: Path) -> None:
    command = """echo '{"outcome":"success","run_id":"someone-else","node_id":"work","attempt":1}' > "$ATTRACTOR_STATUS_PATH" """
    status, _ = _run(tmp_path, command)
    assert status["outcome"] == "fail" and status["failure_class"] == "deterministic"
    assert "status ownership mismatch: expected run=" in status["failure_reason"]
    assert "file has run=someone-else" in status["failure_reason"]


def test_foreign_fallback_is_ignored(tmp_path: Path) -> None:
    command = """echo '{"outcome":"fail","run_id":"old-run","node_id":"work","attempt":1}' > status.json"""
    status, events = _run(tmp_path, command)
    assert status["outcome"] == "success"  # the exit code decides, the foreign file does not
    states = {c["source"]: c["state"] for c in _decision(events)["candidates"]}
    assert states["worktree"] == "foreign"


def test_stale_fallback_is_removed_before_the_attempt(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text('{"outcome":"fail","failure_reason":"stale"}')
    status, events = _run(tmp_path, "true")
    assert status["outcome"] == "success"
    assert {c["source"]: c["state"] for c in _decision(events)["candidates"]}["worktree"] == "missing"


def test_malformed_status_is_a_deterministic_failure_naming_the_file(tmp_path: Path) -> None:
    status, _ = _run(tmp_path, """echo '{"outcome": "success",' > "$ATTRACTOR_STATUS_PATH" """)
    assert status["outcome"] == "fail" and status["failure_class"] == "deterministic"
    assert "status.json: malformed JSON" in status["failure_reason"]


def test_unknown_outcome_and_wrong_types_are_failures(tmp_path: Path) -> None:
    status, _ = _run(tmp_path, """echo '{"outcome":"done"}' > "$ATTRACTOR_STATUS_PATH" """)
    assert status["failure_reason"] == "outcome 'done' matched no edge out of work"
    second = tmp_path / "second"
    second.mkdir()
    status, _ = _run(second, """echo '{"outcome":"success","context_updates":[1]}' > "$ATTRACTOR_STATUS_PATH" """)
    assert "context_updates" in status["failure_reason"] and status["outcome"] == "fail"


def test_unknown_keys_warn_and_preferred_next_label_is_accepted(tmp_path: Path) -> None:
    command = """echo '{"status":"Success","preferred_next_label":"other","failure_reson":"typo"}' > "$ATTRACTOR_STATUS_PATH" """
    status, events = _run(tmp_path, command)
    assert status["outcome"] == "success" and status["preferred_label"] == "other"
    warnings = [e for e in events if e["event"] == "warning"]
    assert any("failure_reson" in w["message"] for w in warnings)


def test_file_keeps_the_handlers_context_updates(tmp_path: Path) -> None:
    command = """echo hi; echo '{"outcome":"success","context_updates":{"k":"v"}}' > "$ATTRACTOR_STATUS_PATH" """
    status, _ = _run(tmp_path, command)
    assert status["context_updates"]["k"] == "v"
    assert status["context_updates"]["tool.output"].startswith("hi")  # engine metadata kept
    assert {"run_id", "node_id", "attempt", "duration_ms"} <= status.keys()


def test_fallback_with_an_old_mtime_and_no_ownership_is_stale(tmp_path: Path) -> None:
    """A file moved into place with an old mtime (cp -p, mv) is not this attempt's."""
    command = """echo '{"outcome":"fail","failure_reason":"old"}' > status.json; touch -d '1 hour ago' status.json"""
    status, events = _run(tmp_path, command)
    assert status["outcome"] == "success"
    assert {c["source"]: c["state"] for c in _decision(events)["candidates"]}["worktree"] == "stale"


def test_fallback_written_right_at_the_start_of_the_attempt_is_accepted(tmp_path: Path) -> None:
    """Coarse file-system clocks may stamp it slightly before the attempt began: still ours."""
    for attempt in range(5):
        work = tmp_path / str(attempt)
        work.mkdir()
        status, _ = _run(work, """echo '{"status":"fail","failure_reason":"fresh"}' > status.json""")
        assert status["failure_reason"] == "fresh"


def test_a_status_reported_in_process_is_the_canonical_one_and_written_once(tmp_path: Path) -> None:
    """The simulate backend reports its status in process: ingestion takes it as the
    canonical file with matching ownership (a fallback file in the workdir is not used), and the stage's status.json is the engine's
    record of it (the backend's fields, ownership and timing)."""
    dot = tmp_path / "p.dot"
    dot.write_text(textwrap.dedent("""
        digraph P {
          start [shape=Mdiamond]
          exit [shape=Msquare]
          work [sim.outcome="fail", sim.failure_reason="lint", sim.preferred_label="Fix"]
          start -> work
          work -> exit [label="Fix"]
        }
    """))
    logs = tmp_path / "logs"
    (tmp_path / "status.json").write_text('{"outcome": "success", "notes": "left over"}')
    attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
    decision = _decision(events)
    assert decision["chosen_source"] == "canonical" and decision["ownership_result"] == "match"
    # The fallbacks come after the canonical source: they cannot decide, and are not read.
    assert [(c["source"], c["state"]) for c in decision["candidates"]] == [("canonical", "valid")]
    status = json.loads((logs / "work" / "status.json").read_text())
    assert (status["outcome"], status["failure_reason"], status["preferred_label"]) == (
        "fail", "lint", "Fix")
    assert status["context_updates"]["last_stage"] == "work"
    assert {"run_id", "node_id", "attempt", "started_at", "finished_at",
            "duration_ms"} <= status.keys()
    assert sorted(p.name for p in (logs / "work").iterdir()) == [
        "prompt.md", "response.md", "status.json"]


def test_a_stage_whose_status_is_in_process_leaves_the_fallback_files_alone(
        tmp_path: Path) -> None:
    """A simulate stage declares its status in process: a status file left in the workdir is
    neither cleared nor read, and cannot decide the stage."""
    dot = tmp_path / "p.dot"
    dot.write_text(textwrap.dedent("""
        digraph P {
          start [shape=Mdiamond]
          exit [shape=Msquare]
          work [sim.outcome="fail", sim.failure_reason="scripted"]
          start -> work -> exit
        }
    """))
    logs = tmp_path / "logs"
    left = tmp_path / "status.json"
    left.write_text('{"outcome": "success", "notes": "left over"}')
    done = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    assert done.returncode == 1, done.stderr
    events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
    decision = _decision(events)
    assert [c["source"] for c in decision["candidates"]] == ["canonical"]
    assert decision["chosen_source"] == "canonical"
    status = json.loads((logs / "work" / "status.json").read_text())
    assert (status["outcome"], status["failure_reason"]) == ("fail", "scripted")
    assert left.read_text() == '{"outcome": "success", "notes": "left over"}'
