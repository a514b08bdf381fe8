"""Every pipeline of the kilroy corpus runs to a ``final.json`` under one fake agent.

Each pipeline runs through the CLI (``attractor run --backend cli``) with the
three agent CLIs pointed at ``fixtures/corpus_run/fake_agent``, which writes
the files and the status file a prompt asks for and picks its outcome from a
scripted plan (node id -> outcome per call). The tools the corpus' tool
commands call (cargo, rustup, wasm-pack, node, npm, git) are tiny fakes on
``PATH``, and the project scripts they run are in a workdir copied from
``fixtures/corpus_run/workdir``. Across the scenarios every custom-outcome
branch of the corpus (``outcome=needs_dod`` and the like) is taken at least
once, read from the ``edge_selected`` events of ``progress.ndjson``.

The runs are independent processes, started side by side by one module
fixture; the tests then read their artifacts. Under ``pytest -n`` the first
worker that needs them runs them once for the whole session (the others wait
on a lock and read the same artifacts).
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from attrs import field, frozen

from attractor_core.conditions import parse_condition
from attractor_core.dot import parse_file
from attractor_core.model.outcome import is_custom_outcome
from tests.corpus import CORPUS
from tests.corpus_agent import WORKDIR, agent_environment, write_plan

NOT_PIPELINES = frozenset({"specs_simple_example_integration_smoke_test.dot",
                           "demo_substack-spec-v01-ui.gv"})
RUN_TIMEOUT_S = 300  # a loaded 2-core box; a healthy run takes a few seconds
PARALLEL_RUNS = 4


@frozen
class Scenario:
    """One run: the corpus file, the agent's plan, and how the run must end."""

    file: str
    plan: Mapping[str, Sequence[Any]] = field(factory=dict)
    status: str = "success"
    sets: tuple[str, ...] = ()
    failed_node: str = ""


# The template names its providers DEFAULT_PROVIDER and so on; a user fills them in.
FILLED_TEMPLATE = "model_stylesheet=* { llm_model: gpt-5.4; llm_provider: openai; }"
# substack's tool commands read ${PIPESTATUS[0]}, which only bash has.
BASH_TOOLS = "tool_shell=bash"

SCENARIOS: Mapping[str, Scenario] = {
    "consensus_needs_dod": Scenario("specs_consensus_task.dot", {
        "CheckDoD": ["needs_dod"], "ReviewConsensus": ["yes"]}),
    "consensus_has_dod": Scenario("specs_consensus_task.dot", {
        "CheckDoD": ["has_dod"], "ReviewConsensus": ["yes"]}),
    # skip loops back for the next commit, port implements it, done ends the run.
    "semport": Scenario("specs_semport.dot", {
        "FetchUpstreamSonnet": ["process", "process", "done"],
        "AnalyzePlanSonnet": ["skip", "port"], "TestValidate": ["yes"]}),
    # A rejection matches no edge: the failure route (retry_target) reaches the postmortem.
    "substack": Scenario("demo_substack-spec-v01.dot", {
        "review_consensus": ["rejected", "success"], "postmortem": ["needs_toolchain"]},
        sets=(BASH_TOOLS,)),
    "template": Scenario("skills_create-dotfile_reference_template.dot", {
        "check_dod": ["needs_dod", "has_dod"],
        "review_consensus": ["rejected", "declined", "refused", "success"],
        "postmortem": ["impl_repair", "needs_replan", "needs_toolchain"]},
        sets=(FILLED_TEMPLATE,)),
    "tmux_graph": Scenario("demo_tmux-agent-test_graph.dot", {
        "agent": [{"outcome": "success", "files": {"hello.txt": "KILROY_TMUX_TEST_PASS"}}]}),
    "tmux_multi_node": Scenario("demo_tmux-agent-test_multi-node.dot", {
        "write_code": [{"outcome": "success",
                        "files": {"calc.sh": "#!/bin/sh\necho $((21 * 2))\n"}}]}),
    # The pipeline's point: a tool fails and the run ends at the failure exit, failed.
    "tmux_failure_routing": Scenario("demo_tmux-agent-test_failure-routing.dot",
                                     status="fail", failed_node="check"),
}
PLAIN = ("cmd_kilroy_testdata_batch_clean.dot", "cmd_kilroy_testdata_batch_has_errors.dot",
         "cmd_kilroy_testdata_batch_no_status_contract.dot",
         "cmd_kilroy_testdata_batch_warnings_only.dot", "demo_browser-smoke_browser-smoke.dot",
         "demo_rogue_rogue-fast.dot", "demo_solitaire_solitaire-fast.dot",
         "demo_tool-only_graph.dot", "research_green-test-complex.dot",
         "research_green-test-moderate.dot", "research_green-test-vague.dot",
         "research_refactor-test-complex.dot", "research_refactor-test-moderate.dot",
         "research_refactor-test-vague.dot", "specs_simple_example.dot",
         "workflows_build-test_graph.dot", "workflows_coding-loop_graph.dot",
         "workflows_multi-tool-exercise_graph.dot")
ALL: Mapping[str, Scenario] = {**SCENARIOS, **{Path(f).stem: Scenario(f) for f in PLAIN}}

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="kilroy corpus not present")


@frozen
class Ran:
    returncode: int
    logs: Path
    output: str


def _run(name: str, scenario: Scenario, base: Path) -> Ran:
    root = base / name
    for sub in ("home", "state", "plan"):
        (root / sub).mkdir(parents=True)
    workdir = root / "workdir"
    shutil.copytree(WORKDIR, workdir)
    plan = root / "plan"
    write_plan(scenario.plan, plan)
    config = root / "run.toml"
    # The kilroy validator fixtures name no provider; the run's default is openai (codex).
    config.write_text('[llm]\ndefault_provider = "openai"\n', encoding="utf-8")
    sets = [arg for value in scenario.sets for arg in ("--set", value)]
    command = [sys.executable, "-m", "attractor_core", "run", str(CORPUS / scenario.file),
               "--logs-root", str(root / "logs"), "--workdir", str(workdir),
               "--backend", "cli", "--interviewer", "auto", "--config", str(config),
               "--quiet", *sets]
    done = subprocess.run(command, env=agent_environment(root / "home", plan, root / "state"),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    return Ran(done.returncode, root / "logs", done.stdout + done.stderr)


def _run_all(base: Path) -> dict[str, Ran]:
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(_run, name, scenario, base)
                   for name, scenario in ALL.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, Ran]:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return _run_all(tmp_path_factory.mktemp("corpus_runs"))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, common to its workers
    with (shared / "corpus_runs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = shared / "corpus_runs.json"
        if not index.exists():
            done = _run_all(shared / "corpus_runs")
            index.write_text(json.dumps({name: [ran.returncode, str(ran.logs), ran.output]
                                         for name, ran in done.items()}), encoding="utf-8")
        return {name: Ran(code, Path(logs), output) for name, (code, logs, output)
                in json.loads(index.read_text(encoding="utf-8")).items()}


def _events(logs: Path) -> list[dict[str, Any]]:
    lines = (logs / "progress.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _custom_branches(file: str) -> set[tuple[str, str]]:
    """(node, custom outcome) for every ``outcome=<custom>`` clause on the file's edges."""
    graph = parse_file(CORPUS / file)
    return {(edge.source, clause.literal) for edge in graph.edges
            for clause in parse_condition(edge.condition).clauses
            if clause.key == "outcome" and clause.op == "=" and is_custom_outcome(clause.literal)}


@needs_corpus
def test_every_corpus_pipeline_has_a_scenario() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".dot", ".gv")} - NOT_PIPELINES
    assert files == {s.file for s in ALL.values()}


@needs_corpus
@pytest.mark.parametrize("name", sorted(ALL))
def test_the_pipeline_runs_to_a_final_json(runs: Mapping[str, Ran], name: str) -> None:
    scenario, ran = ALL[name], runs[name]
    assert (ran.logs / "final.json").is_file(), ran.output
    final = json.loads((ran.logs / "final.json").read_text(encoding="utf-8"))
    assert (final["status"], final["failed_node_id"]) == (scenario.status, scenario.failed_node), (
        final)
    if scenario.status == "success":
        # At an exit node, never at the dead end of a decision no edge took.
        assert final["exit_path"] == "success"
    assert ran.returncode == (0 if scenario.status == "success" else 1), ran.output
    assert _events(ran.logs)[-1]["event"] in ("run_completed", "run_failed")


@needs_corpus
def test_every_custom_outcome_branch_is_taken(runs: Mapping[str, Ran]) -> None:
    wanted = {(s.file, *branch) for s in ALL.values() for branch in _custom_branches(s.file)}
    assert {outcome for _, _, outcome in wanted} >= {
        "needs_dod", "has_dod", "yes", "process", "done", "port", "skip", "needs_toolchain",
        "impl_repair"}
    routing_files = {file for file, _, _ in wanted}
    taken = set()
    for name, ran in runs.items():
        if ALL[name].file not in routing_files:
            continue
        for event in _events(ran.logs):
            if event["event"] != "edge_selected" or not event["condition"]:
                continue
            for clause in parse_condition(event["condition"]).clauses:
                if clause.key == "outcome" and is_custom_outcome(clause.literal):
                    taken.add((ALL[name].file, event["from_node"], clause.literal))
    assert wanted - taken == set()
