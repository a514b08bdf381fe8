"""Cancellation precedence, as a property.

Random pipelines with nested parallel nodes and tool or simulate stages
are cancelled through the Python API at a random moment. Whatever the
shape and the moment: no stage attempt starts after the cancellation,
final.json says ``canceled``, and no process is left behind.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attractor_core.engine import run_pipeline

_policies = st.sampled_from(["continue", "ignore", "fail_fast"])


@st.composite
def pipelines(draw: st.DrawFn) -> str:
    """DOT text: a chain of stages, some of them parallel nodes nested up to two deep."""
    counter = iter(range(10_000))
    lines: list[str] = []

    def stage() -> str:
        name = f"n{next(counter)}"
        if draw(st.booleans()):
            ms = draw(st.integers(10, 300))
            lines.append(f'{name} [shape=parallelogram, tool_command="echo $$ >> PIDS; '
                         f'sleep {ms / 1000}"]')
        else:
            outcome = draw(st.sampled_from(["success", "fail,success", "success"]))
            lines.append(f'{name} [prompt="p", sim.outcome="{outcome}", '
                         f'sim.failure_class="transient_infra", max_retries=1, '
                         f'sim.delay="{draw(st.integers(10, 200))}ms"]')
        return name

    def block(depth: int) -> tuple[str, str]:
        """Returns (first, last) node of a block."""
        if depth < 2 and draw(st.integers(0, 2)) == 0:
            par, join = f"p{next(counter)}", f"j{next(counter)}"
            lines.append(f'{par} [shape=component, error_policy="{draw(_policies)}", '
                         f'max_parallel={draw(st.integers(1, 3))}]')
            lines.append(f"{join} [shape=tripleoctagon]")
            for _ in range(draw(st.integers(2, 3))):
                first, last = block(depth + 1)
                lines.append(f"{par} -> {first}")
                lines.append(f"{last} -> {join}")
            return par, join
        first = last = stage()
        for _ in range(draw(st.integers(0, 2))):
            nxt = stage()
            lines.append(f"{last} -> {nxt}")
            last = nxt
        return first, last

    previous = "start"
    for _ in range(draw(st.integers(1, 3))):
        first, last = block(0)
        lines.append(f"{previous} -> {first}")
        previous = last
    lines.append(f"{previous} -> exit")
    body = "\n  ".join(lines)
    return f"digraph R {{\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n  {body}\n}}\n"


def _live_members(pgids: set[int]) -> list[str]:
    """Processes (not zombies) still in one of the given process groups."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgid = fields[0], int(fields[2])
        if pgid in pgids and state != "Z":
            found.append(f"{entry.name} {stat}")
    return found


def _left_behind(pids_file: Path) -> list[str]:
    """Members of the stages' process groups still running, after a short grace for
    SIGKILL (which the kernel delivers asynchronously) to take effect."""
    if not pids_file.exists():
        return []
    pgids = {int(p) for p in pids_file.read_text().split()}
    for _ in range(100):
        left = _live_members(pgids)
        if not left:
            return []
        time.sleep(0.02)
    return left


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dot_text=pipelines(), cancel_after_ms=st.integers(0, 700))
def test_cancellation_stops_everything(tmp_path_factory: pytest.TempPathFactory,
                                       dot_text: str, cancel_after_ms: int) -> None:
    root = tmp_path_factory.mktemp("cancel")
    pids = root / "pids.txt"
    dot = root / "p.dot"
    dot.write_text(dot_text.replace("PIDS", str(pids)))
    events: list[dict[str, Any]] = []
    cancelled_at: list[int] = []

    async def main() -> None:
        with trio.move_on_after(cancel_after_ms / 1000) as scope:
            await run_pipeline(dot, logs_root=root / "logs", workdir=root, handle_signals=False,
                               on_event=events.append, policy_overrides={"kill_grace": "1s"})
        if scope.cancelled_caught:
            cancelled_at.append(len(events))

    trio.run(main)
    final = json.loads((root / "logs" / "final.json").read_text())
    if not cancelled_at:  # the run finished before the cancel moment
        assert final["status"] in ("success", "fail")
        return
    after = events[cancelled_at[0]:]
    assert final["status"] == "canceled" and final["exit_path"] == "canceled"
    assert not [e for e in after if e["event"] == "stage_attempt_start"], after
    assert not [e for e in after if e["event"] == "edge_selected"], after
    assert events[-1]["event"] == "run_canceled" and events[-1]["status"] == "canceled"
    assert _left_behind(pids) == []
