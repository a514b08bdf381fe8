"""The kernel runs a pipeline with no installed plugin: one hand-registered test
plugin supplies every handler the pipeline uses (start and exit included), and no
entry point is loaded. A run needs nothing else: no event sink, no backend."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy
import pytest

from attractor_core.engine.api import run_pipeline
from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.plugins import make_plugin_manager
from attractor_core.protocols import StageRun
from attractor_core.registry import HandlerRegistry

hookimpl = pluggy.HookimplMarker("attractor")

PIPELINE = """digraph kernel_only {
    start [shape=Mdiamond]
    work  [type="test.stamp", message="stamped by the test plugin"]
    exit  [shape=Msquare]
    start -> work -> exit
}
"""


class PassThrough:
    """Start and exit: nothing to do but succeed."""

    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        return Outcome.success(f"{node.id} passed")


class Stamp:
    """Writes the node's ``message`` to ``stamp.txt`` in the workdir."""

    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        (run.workdir / "stamp.txt").write_text(node.attrs["message"], encoding="utf-8")
        return Outcome.success("stamped", context_updates={"stamp.by": node.id})


class StampPlugin:
    @hookimpl
    def attractor_handler_types(self) -> Mapping[str, Any]:
        return {"start": PassThrough(), "exit": PassThrough(), "test.stamp": Stamp()}


def _kernel_only() -> pluggy.PluginManager:
    return make_plugin_manager(entry_points=False, extra_plugins=[StampPlugin()])


def test_the_kernel_only_manager_holds_no_installed_handler() -> None:
    assert HandlerRegistry.from_plugins(_kernel_only()).types == {"start", "exit", "test.stamp"}
    assert HandlerRegistry.from_plugins(make_plugin_manager(entry_points=False)).types == set()


@pytest.mark.trio
async def test_a_pipeline_runs_through_one_hand_registered_plugin(tmp_path: Path) -> None:
    dot = tmp_path / "kernel_only.dot"
    dot.write_text(PIPELINE, encoding="utf-8")
    logs = tmp_path / "logs"
    final = await run_pipeline(dot, logs_root=logs, workdir=tmp_path, run_id="kernel-only",
                               pm=_kernel_only(), handle_signals=False)

    assert final.status == "success"
    assert (tmp_path / "stamp.txt").read_text(encoding="utf-8") == "stamped by the test plugin"
    recorded = json.loads((logs / "final.json").read_text(encoding="utf-8"))
    assert recorded["status"] == "success"
    assert recorded["completed_nodes"] == ["start", "work", "exit"]
    assert recorded["exit_node"] == "exit"
    checkpoint = json.loads((logs / "checkpoint.json").read_text(encoding="utf-8"))
    assert checkpoint["context"]["stamp.by"] == "work"
    # No event sink is installed: the run's artifacts are the kernel's own.
    assert not (logs / "progress.ndjson").exists()


class Jump:
    """Continues at the node named by ``land``, whatever its edges say."""

    custom_outcomes = False

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        return Outcome.success("jumped", resume_at=node.attrs["land"])


class FailsOnce:
    """Fails (deterministic) on its first attempt, succeeds on the next."""

    custom_outcomes = False

    def __init__(self, retries_any_failure: bool):
        self.retries_any_failure = retries_any_failure

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        if run.attempt == 1:
            return Outcome.fail("first attempt fails", "deterministic")
        return Outcome.success("second attempt")


class DeclaringPlugin:
    def __init__(self, retries_any_failure: bool):
        self.retries_any_failure = retries_any_failure

    @hookimpl
    def attractor_handler_types(self) -> Mapping[str, Any]:
        return {"start": PassThrough(), "exit": PassThrough(), "test.jump": Jump(),
                "test.fails_once": FailsOnce(self.retries_any_failure)}


DECLARATIONS = """digraph declarations {
    start   [shape=Mdiamond]
    jump    [type="test.jump", land="flaky"]
    skipped [type="test.jump", land="exit"]
    flaky   [type="test.fails_once", max_retries=1]
    exit    [shape=Msquare]
    start -> jump -> skipped -> flaky -> exit
}
"""


async def _run_declarations(tmp_path: Path, retries_any_failure: bool) -> dict[str, Any]:
    dot = tmp_path / "declarations.dot"
    dot.write_text(DECLARATIONS, encoding="utf-8")
    logs = tmp_path / f"logs-{retries_any_failure}"
    pm = make_plugin_manager(entry_points=False,
                             extra_plugins=[DeclaringPlugin(retries_any_failure)])
    await run_pipeline(dot, logs_root=logs, workdir=tmp_path, pm=pm, handle_signals=False)
    final: dict[str, Any] = json.loads((logs / "final.json").read_text(encoding="utf-8"))
    return final


@pytest.mark.trio
async def test_a_plugin_handler_steers_the_engine_by_declarations_and_resume_at(
        tmp_path: Path) -> None:
    """``resume_at`` skips edge selection; ``retries_any_failure`` lets a deterministic
    failure be retried, and without it the same failure ends the run."""
    declared = await _run_declarations(tmp_path, retries_any_failure=True)
    assert declared["status"] == "success"
    assert declared["completed_nodes"] == ["start", "jump", "flaky", "exit"]

    undeclared = await _run_declarations(tmp_path, retries_any_failure=False)
    assert undeclared["status"] == "fail"
    assert undeclared["failed_node_id"] == "flaky"
    assert undeclared["failure_reason"] == "first attempt fails"
