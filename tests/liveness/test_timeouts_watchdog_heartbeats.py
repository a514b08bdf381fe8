"""Stage timeouts, attempt-scoped heartbeats, the stall watchdog and run-policy
precedence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio
import trio.testing

from attractor_core.engine import run_pipeline
from tests.engine.support import attractor, events, pipeline


def _final(logs: Path) -> dict[str, Any]:
    return json.loads((logs / "final.json").read_text())


async def test_timeout_15m_is_900_seconds(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    dot = pipeline(tmp_path, """
        slow [sim.delay="1h", timeout="15m"]
        start -> slow -> exit
    """)
    logs = tmp_path / "logs"
    final = await run_pipeline(dot, logs_root=logs, workdir=tmp_path, handle_signals=False,
                               policy_overrides={"stall_timeout": "0"})
    assert final.status == "fail"
    assert final.failure_reason == "stage timeout after 15m0s"
    assert final.failure_class == "transient_infra"
    end = [e for e in events(logs) if e["event"] == "stage_attempt_end" and e["node_id"] == "slow"]
    assert end[0]["duration_ms"] == 900_000  # virtual clock: exactly 15 minutes, not 15 seconds
    status = json.loads((logs / "slow" / "status.json").read_text())
    assert status["timeout"] is True and status["details"]["timeout"] is True


async def test_stage_timeout_cap_wins_when_smaller(tmp_path: Path,
                                                   autojump_clock: trio.testing.MockClock) -> None:
    dot = pipeline(tmp_path, """
        slow [sim.delay="1h", timeout="2h"]
        start -> slow -> exit
    """)
    final = await run_pipeline(dot, logs_root=tmp_path / "logs", workdir=tmp_path,
                               handle_signals=False,
                               policy_overrides={"stall_timeout": "0", "stage_timeout": "90s"})
    assert final.failure_reason == "stage timeout after 1m30s"


async def test_timeout_is_retried_as_transient(tmp_path: Path,
                                               autojump_clock: trio.testing.MockClock) -> None:
    dot = pipeline(tmp_path, """
        slow [sim.delay="1h", timeout="1m", max_retries=2]
        start -> slow -> exit
    """)
    logs = tmp_path / "logs"
    final = await run_pipeline(dot, logs_root=logs, workdir=tmp_path, handle_signals=False,
                               policy_overrides={"stall_timeout": "0"})
    decisions = [e for e in events(logs) if e["event"] == "retry_decision"]
    assert [d["will_retry"] for d in decisions] == [True, True, False]
    assert final.status == "fail"


def _heartbeats_of_a_run(tmp_path: Path, dot: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Run ``dot`` with a 50 ms heartbeat: its heartbeats, and the seq of each attempt's end."""
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path,
                       "--heartbeat-interval", "50ms", "--quiet")
    assert result.returncode == 0, result.stderr
    recorded = events(logs)
    ended_at = {e["attempt_id"]: e["seq"] for e in recorded if e["event"] == "stage_attempt_end"}
    return [e for e in recorded if e["event"] == "stage_heartbeat"], ended_at


def test_heartbeats_never_outlive_their_attempt(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        a [shape=parallelogram, tool_command="sleep 0.4; echo done"]
        b [shape=parallelogram, tool_command="sleep 0.3"]
        start -> a -> b -> exit
    """)
    beats, ended_at = _heartbeats_of_a_run(tmp_path, dot)
    assert {b["node_id"] for b in beats} == {"a", "b"}
    for beat in beats:
        assert beat["seq"] < ended_at[beat["attempt_id"]]
        assert {"attempt", "run_generation", "branch_key", "elapsed_ms",
                "since_last_output_ms", "output_bytes"} <= beat.keys()


def test_concurrent_attempts_each_get_their_own_heartbeats(tmp_path: Path) -> None:
    """Parallel branches run attempts at once: each beats on its own, for itself only,
    and the parallel node's own attempt beats while it waits for them."""
    dot = pipeline(tmp_path, """
        par [shape=component]
        join [shape=tripleoctagon]
        slow [shape=parallelogram, tool_command="sleep 0.5"]
        quick [shape=parallelogram, tool_command="sleep 0.25"]
        start -> par
        par -> slow
        par -> quick
        slow -> join
        quick -> join
        join -> exit
    """)
    beats, ended_at = _heartbeats_of_a_run(tmp_path, dot)
    per_node: dict[str, list[dict[str, Any]]] = {}
    for beat in beats:
        assert beat["seq"] < ended_at[beat["attempt_id"]]
        per_node.setdefault(beat["node_id"], []).append(beat)
    assert {"par", "slow", "quick"} <= per_node.keys()
    assert {b["branch_key"] for b in per_node["slow"]} == {"slow"}
    assert {b["branch_key"] for b in per_node["quick"]} == {"quick"}
    # slow runs twice as long as quick, so it is beaten for more often
    assert len(per_node["slow"]) > len(per_node["quick"]) >= 2
    elapsed = [b["elapsed_ms"] for b in per_node["slow"]]
    assert elapsed == sorted(elapsed)


def test_silent_stage_stalls_the_run(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        hang [shape=parallelogram, tool_command="sleep 30"]
        after [shape=parallelogram, tool_command="true"]
        start -> hang -> after -> exit
        hang -> after [condition="outcome=fail"]
    """)
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path,
                       "--stall-timeout", "600ms", "--stall-check-interval", "100ms", "--quiet")
    assert result.returncode == 1
    final = _final(logs)
    assert (final["status"], final["exit_path"]) == ("fail", "watchdog_stall")
    recorded = events(logs)
    names = [e["event"] for e in recorded]
    stall = names.index("stall_watchdog_timeout")
    assert recorded[stall]["stalled_branches"] == ["main"]
    # Cancellation precedence: the fail edge is never followed, nothing starts after.
    assert "stage_attempt_start" not in names[stall:]
    assert not any(e["event"] == "edge_selected" and e["from_node"] == "hang" for e in recorded)
    assert "cancellation_exit" in names[stall:]
    assert names[-1] == "run_failed"


def test_output_growth_keeps_a_long_stage_alive(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        busy [shape=parallelogram,
              tool_command="for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo tick $i; sleep 0.1; done"]
        start -> busy -> exit
    """)
    logs = tmp_path / "logs"
    result = attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path,
                       "--stall-timeout", "700ms", "--heartbeat-interval", "50ms", "--quiet")
    assert result.returncode == 0, (result.stdout, result.stderr)
    beats = [e for e in events(logs) if e["event"] == "stage_heartbeat"]
    assert max(b["output_bytes"] for b in beats) > 0


def test_policy_precedence_cli_over_config_over_graph(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, """
        wait [shape=parallelogram, tool_command="sleep 1.2"]
        start -> wait -> exit
    """, graph_attrs=', stall_timeout="400ms", stall_check_interval="50ms"')
    config = tmp_path / "attractor.toml"
    config.write_text('[run]\nstall_timeout = "20s"\n')

    def run(name: str, *extra: str | Path) -> str:
        logs = tmp_path / name
        attractor("run", dot, "--logs-root", logs, "--workdir", tmp_path, "--quiet", *extra)
        return str(_final(logs)["exit_path"])

    assert run("graph-only") == "watchdog_stall"
    assert run("config", "--config", config) == "success"
    assert run("cli", "--config", config, "--stall-timeout", "400ms") == "watchdog_stall"


def test_bad_policy_value_is_a_usage_error(tmp_path: Path) -> None:
    dot = pipeline(tmp_path, "start -> exit")
    result = attractor("run", dot, "--logs-root", tmp_path / "logs", "--stall-timeout", "soon")
    assert result.returncode == 2
    assert "stall_timeout" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "logs").exists()
