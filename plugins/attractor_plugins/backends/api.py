"""The ``api`` codergen backend: the unified LLM client, one-shot or as a coding agent.

Node attribute ``codergen.mode``: ``agent`` (default; the coding-agent
loop with read_file, write_file, edit_file, shell, grep and glob confined
to the workdir) or ``oneshot`` (one completion, its text is the response).
Agent limits: ``agent.max_rounds`` (200), ``agent.command_timeout`` (a
duration, default 10s) and ``agent.max_command_timeout`` (10m).

Stage dir files: ``prompt.md`` (as sent, with the fidelity preamble),
``response.md``, ``api_request.json`` and ``api_response.json`` (the last
call), ``provider_used.json`` (the provider and model actually used, after
any failover by the run's ``[llm.failover]`` policy), and in agent mode
``agent_calls.json`` (every tool call with its full output, also written
when an LLM error ends the session), and ``usage.json`` (every call's
tokens and cost, see ``spend``). An LLM error ends the stage as a
``fail`` carrying the error in ``details["llm_error"]``.

Under ``full`` fidelity a stage continues its conversation thread (see
``threads``); the instance keeps the run's threads, and ``api_request.json``
records the decision under ``fidelity`` (mode, thread key, history size).

Call controls (``call_controls``): ``max_tokens``, ``temperature`` and
``provider_options`` reach every request; a stage whose answer was cut at
the output limit succeeds with ``details["truncated"]``. An agent stage
that was given tools and ends without calling any gets a ``warning`` event
(a server that drops the tools makes the model answer in prose).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from attractor_core.sdk import (
    CONVERTER,
    Context,
    FailureClass,
    Node,
    Outcome,
    RunSettings,
    StageRun,
    Warning,
    kill_grace_seconds,
    write_json_atomic,
    write_text_atomic,
)
from attractor_plugins.events import AgentToolCall
from attractor_plugins.llm.budgets import BudgetSettingError
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.config import LlmConfig
from attractor_plugins.llm.errors import SDKError
from attractor_plugins.llm.failover import Target
from attractor_plugins.llm.types import Message, Request, Response

from .agent_loop import AgentConfig, AgentHooks, AgentResult, AgentSession, CallRecord
from .call_controls import call_controls
from .force_model import OPTION as FORCE_MODEL
from .force_model import parse_forced
from .llm_caller import LlmCaller, RetryReporter, run_policy
from .llm_failure import llm_failure
from .node_settings import AgentLimits, NodeSettingError, agent_limits, codergen_mode
from .selection import llm_config, missing_key, resolve_target, without_node
from .spend import (
    BudgetExhausted,
    StageSpend,
    prompt_fit_problem,
    run_budgets,
    run_catalog,
)
from .stage_prompt import assemble_prompt
from .threads import ThreadPlan, ThreadStore
from .tool_hooks import ToolHookRunner
from .tools import CORE_TOOLS, ToolEnv
from .tools.workspace import Workspace

ClientFactory = Callable[[Mapping[str, str], LlmConfig, RetryReporter], Client]
AGENT_SYSTEM = (
    "You are a coding agent. You work in the directory {workdir}; every path you use must stay "
    "inside it (relative paths are resolved against it). Use the tools to read, write and edit "
    "files and to run commands. When the task is done, reply with a short summary of what you "
    "did and call no tool.")


def _default_client(env: Mapping[str, str], config: LlmConfig, retries: RetryReporter
                    ) -> Client:
    return Client.from_env(env, config, on_retry=retries)


class ApiBackend:
    def __init__(self, client_factory: ClientFactory = _default_client):
        self._client_factory = client_factory
        self._threads = ThreadStore()  # one instance serves one run (the handler collects it)

    def preflight(self, node: Node, run: RunSettings) -> Sequence[str]:
        """Provider, model, key and failover policy resolve as the stage would resolve them.

        Nothing is sent: a key that is set but wrong still fails at the first call.
        """
        try:
            config = llm_config(run.option("llm"))
            env = run.environment()
            target = resolve_target(node, config, env, parse_forced(run.option(FORCE_MODEL)))
            run_policy(run, config)
            call_controls(node, Context(), config)
            missing = missing_key(config.provider(target.provider), env)
            too_long = prompt_fit_problem(node, target.model, run_catalog(run))
            run_budgets(node, None, run)
        except SDKError as exc:
            return [without_node(node, exc.message)]
        except BudgetSettingError as exc:
            return [str(exc)]
        return [p for p in (missing, too_long) if p]

    async def run(self, node: Node, prompt: str, context: Context, run: StageRun) -> str | Outcome:
        try:
            mode = codergen_mode(node)
            limits = agent_limits(node) if mode == "agent" else None
            config = llm_config(run.option("llm"))
            env = run.environment()
            target = resolve_target(node, config, env, parse_forced(run.option(FORCE_MODEL)))
            controls = call_controls(node, context, config)
            policy = run_policy(run, config)
            retries = RetryReporter(run, node.id, Target(target.provider, target.model))
            spend = StageSpend.open(node, context, run,
                                    lambda name: config.provider(name).protocol)
            client = self._client_factory(env, config, retries)
        except (NodeSettingError, BudgetSettingError) as exc:
            return Outcome.fail(str(exc), FailureClass.DETERMINISTIC.value)
        except SDKError as exc:
            return llm_failure(node, exc, node.llm_provider)
        plan = self._threads.plan(node, context, run)
        text = assemble_prompt(node, prompt, context, run, plan=plan)
        answer: str | Outcome
        async with client:
            meter = OutputMeter(run)
            caller = LlmCaller(client, policy, Target(target.provider, target.model),
                               node_id=node.id, run=run, reason=target.reason,
                               on_output=meter.add, controls=controls, retries=retries,
                               spend=spend)
            try:
                if limits is None:
                    answer, messages = await _oneshot(caller, node, text, run, plan)
                else:
                    answer, messages = await _agent(caller, node, text, run, limits, meter, plan,
                                                    _tool_hooks(node, context, run))
            except SDKError as exc:
                return llm_failure(node, exc, caller.target.provider)
            except BudgetExhausted as exc:
                return Outcome.fail(str(exc), FailureClass.BUDGET_EXHAUSTED.value,
                                    failure_signature=f"budget_exhausted|{node.id}")
            finally:
                spend.close()
        if messages:
            self._threads.save(run, node, plan, messages)
        if caller.truncated and isinstance(answer, str):  # response.md holds the answer
            return Outcome.success(f"stage completed: {node.id} (answer truncated at the output "
                                   "limit)", details={"truncated": True})
        return answer


class OutputMeter:
    """The stage's output so far (streamed text, tool output), reported as liveness progress."""

    def __init__(self, run: StageRun):
        self._run = run
        self.total = 0

    def add(self, grown: int) -> None:
        self.total += grown
        self._run.progress(self.total)


async def _oneshot(caller: LlmCaller, node: Node, text: str, run: StageRun,
                   plan: ThreadPlan) -> tuple[str, tuple[Message, ...]]:
    """The answer, and the conversation so far for the thread store."""
    request = Request(caller.target.model, [*plan.history, Message.user(text)],
                      provider=caller.target.provider, reasoning_effort=_effort(node))
    _record_request(run, caller.prepare(request), plan)
    response = await caller.complete(request)
    _record_response(run, response)
    write_text_atomic(run.stage_dir / "response.md", response.text)
    return response.text, (*request.messages, response.message)


def _tool_hooks(node: Node, context: Context, run: StageRun) -> ToolHookRunner | None:
    """``tool_hooks.pre``/``.post`` from the node, else the graph (spec §9.7)."""
    pre = node.get("tool_hooks.pre") or context.get_string("graph.tool_hooks.pre")
    post = node.get("tool_hooks.post") or context.get_string("graph.tool_hooks.post")
    if not pre and not post:
        return None
    return ToolHookRunner(pre, post, run.workdir, run.environment(), run.stage_dir,
                          kill_grace_seconds(run))


async def _agent(caller: LlmCaller, node: Node, text: str, run: StageRun, limits: AgentLimits,
                 meter: OutputMeter, plan: ThreadPlan, tool_hooks: ToolHookRunner | None = None
                 ) -> tuple[str | Outcome, tuple[Message, ...]]:
    """The stage's result, and its conversation when it completed (for the thread store)."""
    def on_call(record: CallRecord) -> None:
        run.emit(AgentToolCall(node.id, record.round, record.tool, not record.is_error,
                               record.output[:300] if record.is_error else ""))

    env = ToolEnv(Workspace(run.workdir), run.environment(),
                  default_timeout_ms=limits.command_timeout_ms,
                  max_timeout_ms=limits.max_command_timeout_ms,
                  kill_grace=kill_grace_seconds(run))
    config = AgentConfig(max_rounds=limits.max_rounds, reasoning_effort=_effort(node))
    session = AgentSession(caller.complete, CORE_TOOLS, env, config,
                           AgentHooks(on_call=on_call, on_output=meter.add), tool_hooks)
    try:
        result = await session.run(provider=caller.target.provider, model=caller.target.model,
                                   system=AGENT_SYSTEM.format(workdir=env.workspace.root),
                                   prompt=text, history=plan.history)
    except (SDKError, BudgetExhausted) as exc:
        # Keep the evidence of the rounds that did happen before the error is classified; the
        # caller has written what the failed call delivered as the (incomplete) last response.
        why = f"LLM error: {type(exc).__name__}: {exc}" if isinstance(exc, SDKError) else str(exc)
        _record_agent(run, session.interrupted(why), plan, caller, last_call=False)
        raise
    _record_agent(run, result, plan, caller)
    if result.stop == "completed" and not result.calls:
        run.emit(Warning(f"node {node.id}: the agent ended without calling any of its "
                         f"{len(CORE_TOOLS)} tools; if the task needed tools, check that "
                         f"{caller.target.provider}/{caller.target.model} supports tool calling "
                         "(some servers drop the tools silently)", node.id))
    # Only a finished conversation (ending in the model's answer) can be continued.
    return agent_outcome(node, result), result.messages if result.stop == "completed" else ()


def agent_outcome(node: Node, result: AgentResult) -> str | Outcome:
    if result.stop == "completed":
        return result.text
    if result.stop == "repeated_tool_errors":
        kind = "malformed" if "malformed" in result.reason else "failing"
        return Outcome.fail(f"node {node.id}: {result.reason}", FailureClass.DETERMINISTIC.value,
                            failure_signature=f"repeated_{kind}_tool_loop|{node.id}")
    return Outcome.fail(f"node {node.id}: {result.reason}", FailureClass.BUDGET_EXHAUSTED.value)


def _record_agent(run: StageRun, result: AgentResult, plan: ThreadPlan, caller: LlmCaller,
                  last_call: bool = True) -> None:
    """``last_call``: also write the last response (false when the caller wrote a partial one)."""
    if result.last_request is not None:
        _record_request(run, caller.prepare(result.last_request), plan)
    if last_call and result.last_response is not None:
        _record_response(run, result.last_response)
    write_json_atomic(run.stage_dir / "agent_calls.json", {
        "stop": result.stop, "reason": result.reason, "rounds": result.rounds,
        "usage": CONVERTER.unstructure(result.usage),
        "calls": [CONVERTER.unstructure(c) for c in result.calls]})
    if last_call:
        write_text_atomic(run.stage_dir / "response.md", result.text)


def _record_request(run: StageRun, request: Request, plan: ThreadPlan) -> None:
    write_json_atomic(run.stage_dir / "api_request.json",
                      {**CONVERTER.unstructure(request), "fidelity": plan.describe()})


def _record_response(run: StageRun, response: Response) -> None:
    write_json_atomic(run.stage_dir / "api_response.json",
                      {"complete": True, **CONVERTER.unstructure(response)})


def _effort(node: Node) -> str | None:
    return node.attrs.get("reasoning_effort") or None
