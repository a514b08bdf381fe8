"""Failure classes, retry gating, signatures and cycle breakers."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attractor_core.engine.signatures import failure_signature, normalize_reason
from attractor_plugins.classifiers import classify_reason
from tests.engine.support import attractor, pipeline, start_attractor


def _run(tmp_path: Path, dot: Path, name: str = "logs") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    logs = tmp_path / name
    attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    events = [json.loads(x) for x in (logs / "progress.ndjson").read_text().splitlines()]
    return json.loads((logs / "final.json").read_text()), events


def _named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


@pytest.mark.parametrize(("reason", "expected"), [
    ("HTTP 503 from upstream", "transient_infra"),
    ("upstream said: 503 Service Unavailable", "transient_infra"),
    ("connection reset by peer", "transient_infra"),
    ("status code 429: slow down", "transient_infra"),
    ("request timed out after 30s", "transient_infra"),
    ("assertion failed at line 503", None),
    ("expected 502 widgets, got 501", None),
    ("test_timeout_handling failed", None),
    ("context length exceeded: 210000 tokens", "budget_exhausted"),
    ("canceled", "canceled"),
    ("AssertionError: 1 != 2", None),
])
def test_heuristics_match_at_word_boundaries(reason: str, expected: str | None) -> None:
    assert classify_reason(reason) == expected


def test_unhinted_reasons_are_classified_through_the_plugin_chain(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        a [sim.outcome="fail", sim.failure_reason="HTTP 503 from api", max_retries=1]
        b [sim.outcome="fail", sim.failure_reason="assertion failed at line 503", max_retries=1]
        start -> a
        a -> b [condition="outcome=fail"]
        b -> exit
    """)
    _, events = _run(tmp_path, dot)
    decisions = {(d["node_id"], d["attempt"]): d for d in _named(events, "retry_decision")}
    assert decisions[("a", 1)]["failure_class"] == "transient_infra"
    assert decisions[("a", 1)]["will_retry"] is True
    assert decisions[("b", 1)]["failure_class"] == "deterministic"
    assert decisions[("b", 1)]["will_retry"] is False


def test_explicit_hint_wins_through_the_alias_table(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        a [sim.outcome="fail,success", sim.failure_class="Transient",
           sim.failure_reason="assertion failed", max_retries=1]
        start -> a -> exit
    """)
    final, events = _run(tmp_path, dot)
    assert final["status"] == "success"
    assert _named(events, "retry_decision")[0]["failure_class"] == "transient_infra"


def test_tool_nodes_retry_any_failure_unless_retry_on_transient(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        t1 [shape=parallelogram, tool_command="echo broken >&2; exit 1", max_retries=1]
        t2 [shape=parallelogram, tool_command="echo broken >&2; exit 1", max_retries=1,
            retry_on="transient"]
        start -> t1
        t1 -> t2 [condition="outcome=fail"]
        t2 -> exit
    """)
    _, events = _run(tmp_path, dot)
    by_node = {d["node_id"]: d for d in _named(events, "retry_decision") if d["attempt"] == 1}
    assert by_node["t1"]["will_retry"] is True
    assert by_node["t2"]["will_retry"] is False


def test_retry_status_is_honoured_whatever_its_class(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        a [sim.outcome="retry,retry,success", sim.failure_class="deterministic", max_retries=2]
        start -> a -> exit
    """)
    final, events = _run(tmp_path, dot)
    assert final["status"] == "success"
    assert [d["will_retry"] for d in _named(events, "retry_decision")] == [True, True]


_NOISE = st.one_of(
    st.integers(0, 10**9).map(str),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=12).map(lambda b: "0x" + b.hex()),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
    st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=2, max_size=4)
    .map(lambda parts: "/" + "/".join(parts)),
)
_WORDS = st.lists(st.sampled_from(["build", "failed", "missing", "module", "cannot", "open",
                                   "expected", "token", "in", "error"]), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(words=_WORDS, first=st.lists(_NOISE, min_size=1, max_size=3),
       second=st.lists(_NOISE, min_size=1, max_size=3))
def test_signature_ignores_volatile_parts(words: list[str], first: list[str],
                                          second: list[str]) -> None:
    n = min(len(first), len(second))
    a = " ".join(words) + " " + " ".join(first[:n])
    b = " ".join(words) + " " + " ".join(second[:n])
    kinds = [_kind(x) == _kind(y) for x, y in zip(first[:n], second[:n], strict=True)]
    if all(kinds):
        assert failure_signature("n", "deterministic", a) == failure_signature("n", "deterministic", b)


def _kind(token: str) -> str:
    return normalize_reason(token)


@settings(max_examples=100, deadline=None)
@given(a=_WORDS, b=_WORDS)
def test_signature_tells_different_messages_apart(a: list[str], b: list[str]) -> None:
    if a != b:
        assert failure_signature("n", "deterministic", " ".join(a)) != \
            failure_signature("n", "deterministic", " ".join(b))


def test_signature_truncates_by_characters() -> None:
    reason = "é" * 500
    assert len(normalize_reason(reason)) == 200


def test_deterministic_cycle_breaks_at_the_limit_and_diamonds_count_once(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        implement [sim.outcome="success"]
        verify [sim.outcome="fail", sim.failure_reason="test_foo failed at line 12"]
        check [shape=diamond]
        start -> implement -> verify -> check
        check -> exit [condition="outcome=success"]
        check -> implement [condition="outcome!=success"]
    """)
    final, events = _run(tmp_path, dot)
    assert final["exit_path"] == "cycle_breaker"
    assert final["failed_node_id"] == "verify"
    assert final["failure_reason"] == "test_foo failed at line 12"
    assert "repeated 3 times (limit 3)" in final["abort_reason"]
    checks = _named(events, "cycle_check")
    assert [c["node_id"] for c in checks] == ["verify"] * 3  # never the diamond
    assert [c["count"] for c in checks] == [1, 2, 3]
    assert len(_named(events, "cycle_breaker")) == 1


def test_transient_and_canceled_failures_are_not_counted(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        flaky [sim.outcome="fail,fail,fail,fail,success", sim.failure_class="transient_infra"]
        gate [shape=diamond]
        start -> flaky -> gate
        gate -> exit [condition="outcome=success"]
        gate -> flaky [condition="outcome!=success"]
    """)
    final, events = _run(tmp_path, dot)
    assert final["status"] == "success"
    assert not _named(events, "cycle_check")


def test_loop_restart_blocked_for_deterministic_failure(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        work [sim.outcome="fail", sim.failure_reason="bad input"]
        start -> work
        work -> exit [condition="outcome=success"]
        work -> work [loop_restart=true]
    """)
    final, events = _run(tmp_path, dot)
    assert final["exit_path"] == "loop_restart_blocked"
    assert final["failure_reason"] == "bad input"
    assert "failure_class=deterministic" in final["abort_reason"]
    assert len(_named(events, "loop_restart_blocked")) == 1
    assert not (tmp_path / "logs" / "restart-1").exists()


def test_loop_restart_circuit_breaker_on_repeated_transient_signature(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        work [sim.outcome="fail", sim.failure_reason="HTTP 503", sim.failure_class="transient_infra"]
        start -> work
        work -> exit [condition="outcome=success"]
        work -> work [loop_restart=true]
    """, graph_attrs=', loop_restart_signature_limit=2')
    final, events = _run(tmp_path, dot)
    assert final["exit_path"] == "cycle_breaker"
    assert "loop_restart circuit breaker" in final["abort_reason"]
    assert (tmp_path / "logs" / "restart-1").exists()
    assert not (tmp_path / "logs" / "restart-2").exists()
    assert [c["kind"] for c in _named(events, "cycle_check")] == ["restart", "restart"]


def test_node_visit_guard_stops_a_spinning_loop(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        spin [sim.outcome="success"]
        gate [shape=diamond]
        start -> spin -> gate
        gate -> spin [condition="outcome=success"]
        gate -> exit [condition="outcome=fail"]
    """, graph_attrs=", max_node_visits=4")
    final, events = _run(tmp_path, dot)
    assert final["exit_path"] == "cycle_breaker"
    assert "visited 5 times" in final["abort_reason"]
    assert len([e for e in _named(events, "stage_attempt_start") if e["node_id"] == "spin"]) == 4


def test_breaker_counters_survive_resume(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        verify [sim.outcome="fail", sim.failure_reason="same failure"]
        pause [shape=parallelogram, tool_command="sleep 2"]
        start -> verify
        verify -> exit [condition="outcome=success"]
        verify -> pause [condition="outcome=fail"]
        pause -> verify
    """)
    logs = tmp_path / "logs"
    proc = start_attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet")
    deadline = time.monotonic() + 30
    progress = logs / "progress.ndjson"
    while time.monotonic() < deadline:
        if progress.exists() and '"count":2' in progress.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3, proc.stderr.read() if proc.stderr else ""
    result = attractor("resume", "--logs-root", logs, "--quiet")
    assert result.returncode == 1, result.stderr
    final = json.loads((logs / "final.json").read_text())
    assert final["exit_path"] == "cycle_breaker"
    events = [json.loads(x) for x in progress.read_text().splitlines()]
    assert [c["count"] for c in _named(events, "cycle_check")] == [1, 2, 3]
