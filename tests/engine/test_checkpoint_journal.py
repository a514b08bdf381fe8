"""checkpoint.json is a snapshot plus checkpoint.journal: every stage costs a bounded
journal entry, yet a reader (resume) sees the full state at every moment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trio

from attractor_core.engine import run_pipeline
from attractor_core.runtime.checkpoint import load_checkpoint

NODES = 600


def _linear(tmp_path: Path) -> Path:
    lines = ["digraph L {", "  start [shape=Mdiamond]", "  exit [shape=Msquare]"]
    chain = ["start"]
    for i in range(NODES):
        lines.append(f'  n{i} [prompt="step {i}", sim.context_updates="{{\\"k{i}\\": {i}}}"]')
        chain.append(f"n{i}")
    chain.append("exit")
    lines.append("  " + " -> ".join(chain))
    path = tmp_path / "linear.dot"
    path.write_text("\n".join([*lines, "}"]) + "\n")
    return path


async def test_journal_entries_stay_small_and_replay_to_the_full_state(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    checks: list[tuple[str, Any]] = []
    snapshots: set[int] = set()
    longest_entry = 0

    def observe(event: dict[str, Any]) -> None:
        nonlocal longest_entry
        if event["event"] != "checkpoint_saved":
            return
        snapshots.add(os.stat(root / "checkpoint.json").st_ino)
        journal = root / "checkpoint.journal"
        if journal.exists():
            lines = journal.read_bytes().splitlines()
            longest_entry = max([longest_entry, *(len(x) for x in lines[-1:])])
        if int(event["seq"]) % 97 == 0:  # sample the state a resume would load
            checks.append((event["node_id"], load_checkpoint(root / "checkpoint.json")))

    final = await run_pipeline(_linear(tmp_path), logs_root=root, workdir=tmp_path,
                               handle_signals=False, on_event=observe)
    assert final.status == "success"
    assert checks
    for node_id, cp in checks:
        index = int(node_id[1:])
        assert cp.completed_nodes[-1] == node_id
        assert len(cp.completed_nodes) == index + 2  # start and n0..n<index>
        assert cp.next_node == (f"n{index + 1}" if index + 1 < NODES else "exit")
        assert cp.context[f"k{index}"] == index and f"k{index + 1}" not in cp.context
    # Entries do not grow with the run; snapshots are rare (about log2 of its length).
    assert longest_entry < 2_000
    assert len(snapshots) <= 8
    last = load_checkpoint(root / "checkpoint.json")
    assert last.completed_nodes == ("start", *(f"n{i}" for i in range(NODES)), "exit")
    assert (root / "checkpoint.journal").read_bytes() == b""  # the final snapshot holds it all


def test_a_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    trio.run(lambda: run_pipeline(_linear(tmp_path), logs_root=root, workdir=tmp_path,
                                  handle_signals=False))
    full = load_checkpoint(root / "checkpoint.json")
    (root / "checkpoint.journal").write_bytes(b'{"seq": 99999, "current_node": "n3", "compl')
    assert load_checkpoint(root / "checkpoint.json") == full
