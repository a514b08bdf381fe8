"""The ``cli`` codergen backend: claude, codex or gemini as a supervised subprocess.

The agent is the node's ``cli.agent`` (claude, codex, gemini), else the one
of its provider (anthropic, openai, gemini). Limits: node attributes
``cli.idle_timeout`` (default 5m, no output growth), ``cli.total_timeout``
(default 20m), and the run's ``kill_grace``. Stage dir files:
``prompt.md`` (also the CLI's stdin), ``cli_invocation.json`` (argv, env
keys, cwd, limits, and after the run its exit), ``stdout.log``,
``stderr.log``, ``response.md`` (the final answer parsed from the stream),
``provider_used.json``, ``usage.json`` (the agent's tokens and cost parsed
from its stream: one run of the agent is one call, see ``spend``).

How the stage ends: the agent reports through ``$ATTRACTOR_STATUS_PATH``
and the engine's status ingestion, which beats anything returned here.
Without a status file, a clean exit is a success only with
``auto_status=true``; otherwise the stage fails naming the missing file.
Idle and total timeouts, and a stream disconnect the agent reports, are
``transient_infra``; other failures are left to the failure classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen

from attractor_core.sdk import (
    Context,
    FailureClass,
    Node,
    Outcome,
    RunSettings,
    StageRun,
    kill_grace_seconds,
    write_json_atomic,
    write_text_atomic,
)
from attractor_plugins.events import ProviderSelected
from attractor_plugins.llm.accounting import CallUsage, estimate_tokens
from attractor_plugins.llm.budgets import BudgetSettingError
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.errors import ConfigurationError

from .cli_agents import AGENTS, PROVIDER_AGENTS, CliAgent
from .cli_streams import StreamResult, parse_stream
from .cli_supervision import Limits, ProcessEnd, supervise
from .force_model import OPTION as FORCE_MODEL
from .force_model import parse_forced
from .node_settings import NodeSettingError, cli_agent_name, duration_ms
from .selection import llm_config, without_node
from .spend import (
    BudgetExhausted,
    StageSpend,
    prompt_fit_problem,
    run_budgets,
    run_catalog,
)
from .stage_prompt import assemble_prompt

SCRUBBED_ENV = ("CLAUDECODE",)  # Claude Code's nested-session guard would refuse to start
_DISCONNECT_PHRASES = ("stream disconnected", "stream closed before")


@frozen
class CliPlan:
    agent: CliAgent
    model: str
    limits: Limits


class CliBackend:
    def preflight(self, node: Node, run: RunSettings) -> Sequence[str]:
        """The node's agent is known and its executable is found (it is not started)."""
        try:
            agent = cli_agent(node, llm_config(run.option("llm")))
        except NodeSettingError as exc:
            return [without_node(node, str(exc))]
        except ConfigurationError as exc:
            return [without_node(node, exc.message)]
        if agent.executable(agent_environment(run)) is None:
            return [executable_missing(agent)]
        try:
            table = llm_config(run.option("llm")).providers.get(agent.provider)
            model = agent.normalize_model(node.llm_model or (table.model if table else ""))
            too_long = prompt_fit_problem(node, model, run_catalog(run))
            run_budgets(node, None, run)
        except ConfigurationError as exc:
            return [exc.message]
        except BudgetSettingError as exc:
            return [str(exc)]
        return [too_long] if too_long else []

    async def run(self, node: Node, prompt: str, context: Context, run: StageRun) -> str | Outcome:
        try:
            plan = cli_plan(node, context, run)
            spend = StageSpend.open(node, context, run)
        except (NodeSettingError, ConfigurationError, BudgetSettingError) as exc:
            return Outcome.fail(str(exc), FailureClass.DETERMINISTIC.value)
        try:
            return await self._run(node, prompt, context, run, plan, spend)
        except BudgetExhausted as exc:
            return Outcome.fail(str(exc), FailureClass.BUDGET_EXHAUSTED.value,
                                failure_signature=f"budget_exhausted|{node.id}")
        finally:
            spend.close()

    async def _run(self, node: Node, prompt: str, context: Context, run: StageRun,
                   plan: CliPlan, spend: StageSpend) -> str | Outcome:
        env = agent_environment(run)
        executable = plan.agent.executable(env)
        if executable is None:
            return Outcome.fail(
                f"node {node.id}: {executable_missing(plan.agent)}",
                FailureClass.DETERMINISTIC.value,
                failure_signature=f"provider_executable_missing|{plan.agent.provider}|not_found")
        assemble_prompt(node, prompt, context, run, with_status_contract=True)
        argv = plan.agent.argv(executable, plan.model, run.workdir)
        invocation = _invocation(plan, argv, env, run)
        write_json_atomic(run.stage_dir / "cli_invocation.json", invocation)
        _announce(node, plan, run)
        await spend.before_call()
        try:
            end = await supervise(argv, cwd=run.workdir, env=env,
                                  stdin=run.stage_dir / "prompt.md",
                                  stdout=run.stage_dir / "stdout.log",
                                  stderr=run.stage_dir / "stderr.log", limits=plan.limits,
                                  on_output=run.progress)
        except BaseException:
            # Stopped (a cancel, a stage timeout): the agent may have spent, unreported.
            spend.record(_unreported(plan, run, "stopped before it reported usage"))
            raise
        write_json_atomic(run.stage_dir / "cli_invocation.json", {
            **invocation, "trigger": end.trigger, "exit_code": end.exit_code,
            "duration_ms": int(end.duration_s * 1000)})
        with (run.stage_dir / "stdout.log").open(encoding="utf-8", errors="replace") as lines:
            stream = parse_stream(plan.agent.name, lines)
        write_text_atomic(run.stage_dir / "response.md", stream.text)
        await spend.after_call(agent_call(plan, stream, run))
        return decide(node, plan, end, stream, run)


def agent_call(plan: CliPlan, stream: StreamResult, run: StageRun) -> CallUsage:
    """The agent's run as one call: the usage and cost its stream reported, if any."""
    if not stream.usage_known:
        return _unreported(plan, run, "")
    cost_source = "agent" if stream.cost_usd is not None else ""
    return CallUsage(plan.agent.provider, _model(plan, stream), stream.input_tokens,
                     stream.output_tokens, stream.reasoning_tokens, stream.cache_read_tokens,
                     stream.cache_write_tokens, stream.cost_usd, cost_source)


def _model(plan: CliPlan, stream: StreamResult) -> str:
    return plan.model or stream.model or f"({plan.agent.name} default)"


def _unreported(plan: CliPlan, run: StageRun, error: str) -> CallUsage:
    sizes = sum(_size(run.stage_dir / name) for name in ("prompt.md", "stdout.log"))
    return CallUsage(plan.agent.provider, _model(plan, StreamResult()),
                     estimated_tokens=estimate_tokens(sizes), error=error)


def _size(path: Any) -> int:
    try:
        return int(path.stat().st_size)
    except OSError:
        return 0


def agent_environment(run: RunSettings) -> dict[str, str]:
    return {k: v for k, v in run.environment().items() if k not in SCRUBBED_ENV}


def executable_missing(agent: CliAgent) -> str:
    return (f"{agent.name} executable not found on PATH; install it or set {agent.path_env} "
            "to its path")


def cli_agent(node: Node, config: LlmConfig) -> CliAgent:
    """``cli.agent``, else the agent of the node's provider; NodeSettingError when neither."""
    provider = node.llm_provider or config.default_provider
    name = cli_agent_name(node) or PROVIDER_AGENTS.get(provider, "")
    if name not in AGENTS:
        raise NodeSettingError(
            f"node {node.id}: no agent CLI for provider {provider or '(none)'!r}; set cli.agent "
            "to claude, codex or gemini, or llm_provider to anthropic, openai or gemini")
    return AGENTS[name]


def cli_plan(node: Node, context: Context, run: StageRun) -> CliPlan:
    config = llm_config(run.option("llm"))
    agent = cli_agent(node, config)
    table = config.providers.get(agent.provider)
    forced = parse_forced(run.option(FORCE_MODEL)).get(agent.provider)
    model = agent.normalize_model(forced or node.llm_model or (table.model if table else ""))
    limits = Limits(duration_ms(node, context, "cli.idle_timeout", 300_000) / 1000,
                    duration_ms(node, context, "cli.total_timeout", 1_200_000) / 1000,
                    kill_grace_seconds(run))
    return CliPlan(agent, model, limits)


def decide(node: Node, plan: CliPlan, end: ProcessEnd, stream: StreamResult,
           run: StageRun) -> str | Outcome:
    name, provider = plan.agent.name, plan.agent.provider
    if end.trigger == "idle_timeout":
        return Outcome.fail(
            f"node {node.id}: {name} idle timeout after {plan.limits.idle_timeout:g}s with no "
            "output", FailureClass.TRANSIENT_INFRA.value,
            failure_signature=f"provider_timeout|{provider}|idle_timeout")
    if end.trigger == "total_timeout":
        return Outcome.fail(
            f"node {node.id}: {name} total timeout after {plan.limits.total_timeout:g}s",
            FailureClass.TRANSIENT_INFRA.value,
            failure_signature=f"provider_timeout|{provider}|total_timeout")
    if end.exit_code != 0 or stream.is_error:
        reason = f"node {node.id}: {name} failed: {_failure_text(end, stream, run)}"
        if any(phrase in stream.error.lower() for phrase in _DISCONNECT_PHRASES):
            # Read from the parsed error event, never from raw stdout (where the agent's own
            # command output could contain the phrase).
            return Outcome.fail(reason, FailureClass.TRANSIENT_INFRA.value,
                                failure_signature=f"provider_stream_disconnect|{provider}|"
                                                  "stream_closed")
        return Outcome.fail(reason)
    if status_file_written(run) or node.auto_status:
        return stream.text
    return Outcome.fail(
        f"node {node.id}: {name} exited 0 without writing a status file to "
        f"$ATTRACTOR_STATUS_PATH ({run.stage_dir / 'status.json'}); set auto_status=true to "
        "accept a clean exit as success", FailureClass.DETERMINISTIC.value)


def status_file_written(run: StageRun) -> bool:
    """Whether any status source the engine ingests holds a file."""
    if (run.stage_dir / "status.json").exists():
        return True
    groups = run.plugin_hook().attractor_status_sources()
    return any(source.path(run.stage_dir, run.workdir, run.run_id).exists()
               for group in groups for source in group)


def _failure_text(end: ProcessEnd, stream: StreamResult, run: StageRun) -> str:
    if stream.error:
        return stream.error
    stderr = _read(run.stage_dir / "stderr.log").strip().splitlines()
    first = stderr[0] if stderr else ""
    return f"exit code {end.exit_code}" + (f": {first}" if first else "")


def _announce(node: Node, plan: CliPlan, run: StageRun) -> None:
    reason = "cli.agent" if node.get("cli.agent") else "graph_attrs"
    run.emit(ProviderSelected(node.id, "cli", plan.agent.provider, plan.model, reason))
    write_json_atomic(run.stage_dir / "provider_used.json", {
        "backend": "cli", "provider": plan.agent.provider, "model": plan.model,
        "agent": plan.agent.name, "reason": reason})


def _invocation(plan: CliPlan, argv: list[str], env: dict[str, str],
                run: StageRun) -> dict[str, Any]:
    return {"agent": plan.agent.name, "provider": plan.agent.provider, "model": plan.model,
            "executable": argv[0], "argv": argv, "cwd": str(run.workdir),
            "prompt_mode": "stdin", "prompt_path": str(run.stage_dir / "prompt.md"),
            "env_keys": sorted(env), "env_scrubbed": list(SCRUBBED_ENV),
            "status_path": str(run.stage_dir / "status.json"),
            "idle_timeout_s": plan.limits.idle_timeout,
            "total_timeout_s": plan.limits.total_timeout, "kill_grace_s": plan.limits.kill_grace}


def _read(path: Any) -> str:
    try:
        return str(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return ""
