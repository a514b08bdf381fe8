"""Run records read back without cattrs (``runtime.structure``) equal what the converter that
wrote them reads back: on a real run's artifacts and on records with every field set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from attractor_core.model.branch import BranchResult
from attractor_core.model.fan_out import BranchFailure, FanOutReport
from attractor_core.runtime.checkpoint import Checkpoint, InFlight, NodeRecord, load_checkpoint
from attractor_core.runtime.final import FanOutEnding, FinalRecord, read_final
from attractor_core.runtime.manifest import Manifest, read_manifest
from attractor_core.runtime.process_records import GroupRecord, RecordedGroups
from attractor_core.runtime.serialization import CONVERTER
from attractor_core.runtime.structure import structure

DEMO = Path(__file__).parent.parent / "examples" / "demo.dot"
FAILURE = BranchFailure("b1", "fail", "it broke", "deterministic", "work")
REPORT = FanOutReport("1 of 2 branches failed", (FAILURE,))
RECORD = NodeRecord("partial_success", "one branch failed", "deterministic", "sig", "work", REPORT)
EVERY_FIELD: list[Any] = [
    Checkpoint(
        "r1", "2026-01-01T00:00:00Z", "fan", "join", ("start", "fan"),
        node_outcomes={"fan": RECORD, "start": NodeRecord("success")},
        node_retries={"fan": 2}, node_executions={"fan": 3}, crash_reruns={"x": 1},
        in_flight=InFlight("join", 2), last_outcome=RECORD,
        context={"graph.goal": "g", "nested": {"list": [1, 2.5, None, True]}},
        logs=("a", "b"), restart_count=1, last_score=0.5, failure_signatures={"s": 1},
        restart_signatures={"t": 2}, node_visits={"fan": 4}, stopped_cleanly=True,
        journal_seq=7,
        branch_result=BranchResult("b1", 0, "work", "fail", "it broke", "deterministic", "sig",
                                   "work", "work", ("work",), "/logs/b1", 12, 0.25,
                                   {"k": "v"}, {"commit": "abc"}),
        workspace={"commit": "abc"}, plugins={"llm": {"spent": 1.5}}),
    FinalRecord("r1", "fail", "invalid_graph", "s", "f", 12, "/logs", "why", "deterministic",
                "sig", "work", "abort", ("start", "work"), 2, "exit",
                (FanOutEnding("fan", "partial_success", "1 of 2 failed", (FAILURE,)),),
                {"commit": "abc"}, {"llm": {"spent": 1.5}}, True),
    Manifest("r1", "G", "goal", "g.dot", "/w", "/logs", "s", {"goal": "x"}, {"backend": "simulate"},
             {"stall_timeout": "20m"}),
    RecordedGroups(41, None, (GroupRecord(42, 1234, "r1", "work", 1, "b1", "s"),
                              GroupRecord(43, None, "r1", "tool", 2, "", "s"))),
]


@pytest.mark.parametrize("record", EVERY_FIELD, ids=lambda r: type(r).__name__)
def test_a_record_with_every_field_set_reads_back_as_the_converter_reads_it(record: Any) -> None:
    raw = json.loads(json.dumps(CONVERTER.unstructure(record)))
    assert structure(raw, type(record)) == CONVERTER.structure(raw, type(record)) == record


def test_defaults_fill_missing_keys_and_unknown_keys_are_ignored() -> None:
    raw = {"node_id": "n", "status": "fail", "verdict": "v", "added_later": 1}
    assert structure(raw, FanOutEnding) == CONVERTER.structure(raw, FanOutEnding)


@pytest.mark.parametrize("raw", [[], {"run_id": "r"}, {**CONVERTER.unstructure(
    EVERY_FIELD[2]), "overrides": ["not", "a", "map"]}])
def test_a_record_that_does_not_fit_raises(raw: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        structure(raw, Manifest)


def test_a_real_runs_artifacts_read_back_alike(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    subprocess.run([sys.executable, "-m", "attractor_core", "run", str(DEMO), "--backend",
                    "simulate", "--interviewer", "auto", "--workdir", str(tmp_path),
                    "--logs-root", str(logs), "--quiet"], check=True, capture_output=True,
                   timeout=300)
    assert read_final(logs / "final.json") == CONVERTER.structure(
        json.loads((logs / "final.json").read_text()), FinalRecord)
    assert read_manifest(logs / "manifest.json") == CONVERTER.structure(
        json.loads((logs / "manifest.json").read_text()), Manifest)
    assert load_checkpoint(logs / "checkpoint.json") == CONVERTER.structure(
        json.loads((logs / "checkpoint.json").read_text()), Checkpoint)
