"""The attributes each built-in handler reads, as the ``attractor_attribute_schema`` hook
reports them.

They live apart from the handlers so that ``attractor validate`` learns them without
importing any handler (and trio with it); the handlers take their defaults from here.
"""

from __future__ import annotations

from attractor_core.sdk import AttributeSpec

DEFAULT_MAX_PARALLEL = 4
DEFAULT_QUORUM_FRACTION = 0.5
DEFAULT_SHELL = "/bin/sh"
TOOL_SHELL = AttributeSpec("tool_shell", "string", DEFAULT_SHELL,
                           "The shell that runs `tool_command` with `-c` (also a graph "
                           "attribute).")
TOOL = (
    AttributeSpec("tool_command", "string", "",
                  "Shell command of the stage (run with `tool_shell -c`); exit 0 is success."),
    TOOL_SHELL,
)

HUMAN = (
    AttributeSpec("human.default_choice", "string", "",
                  "Choice (target id, key or label) taken when the gate times out; without "
                  "it the gate asks for a retry."),
    AttributeSpec("human.timeout", "duration", "node timeout", "How long the gate waits."),
)

PARALLEL = (
    AttributeSpec("join_policy", "wait_all|first_success|k_of_n|quorum", "wait_all",
                  "How the fan-out joins its branches ([concurrency.md](concurrency.md))."),
    AttributeSpec("error_policy", "continue|fail_fast|ignore", "continue",
                  "What a failed branch does to the fan-out."),
    AttributeSpec("k", "integer", "1", "Successes a `k_of_n` join needs (1 to the branch count)."),
    AttributeSpec("quorum_fraction", "float", str(DEFAULT_QUORUM_FRACTION),
                  "Share of branches a `quorum` join needs, in (0, 1]."),
    AttributeSpec("max_parallel", "integer", str(DEFAULT_MAX_PARALLEL),
                  "Branches run at once (`0`: all)."),
)

SUBGRAPH = (
    AttributeSpec("subgraph.dotfile", "string", "",
                  "Child pipeline, relative to this DOT file (`subgraph_dotfile` requires it)."),
    AttributeSpec("subgraph.pass_context", "comma list", "",
                  "Context keys copied into the child's context."),
)

MANAGER_ACTIONS = ("observe", "steer", "wait")
DEFAULT_MAX_CYCLES = 1000
MANAGER_LOOP_GRAPH = (
    AttributeSpec("stack.child_dotfile", "string", "",
                  "Child pipeline, relative to this DOT file (also a graph attribute)."),
    AttributeSpec("stack.child_workdir", "string", "run workdir",
                  "Working directory of the child run (also a graph attribute)."),
)
MANAGER_LOOP = (
    *MANAGER_LOOP_GRAPH,
    AttributeSpec("stack.child_autostart", "boolean", "true",
                  "Must be `true`: the manager loop always starts its child."),
    AttributeSpec("manager.poll_interval", "duration", "45s", "Cycle period."),
    AttributeSpec("manager.max_cycles", "integer", str(DEFAULT_MAX_CYCLES), "Cycle cap (≥ 1)."),
    AttributeSpec("manager.stop_condition", "condition", "", "Stops the loop when true."),
    AttributeSpec("manager.actions", "comma list", "observe,wait",
                  "Actions of each cycle: " + ", ".join(MANAGER_ACTIONS) + "."),
    AttributeSpec("manager.steer_prompt", "string", "",
                  "What the steer action hands to the child's next stage."),
    AttributeSpec("manager.steer_cooldown", "duration", "0", "Minimum time between two steers."),
)

DEFAULT_FAILURE_REASON = "simulated failure"
SIMULATE = (
    AttributeSpec("sim.outcome", "status or comma list", "success",
                  "simulate: one outcome per execution of the node (visits, retries; an "
                  "attempt re-run after an interruption keeps its entry); the last entry "
                  "repeats. Any case. A word that is not a status (`needs_dod`) is a "
                  "[custom outcome](#custom-outcomes)."),
    AttributeSpec("sim.failure_reason", "string", DEFAULT_FAILURE_REASON,
                  "simulate: reason of a `fail`/`retry`."),
    AttributeSpec("sim.failure_class", "failure class", "",
                  "simulate: e.g. `transient_infra` to make the failure retryable; one of "
                  "`transient_infra`, `deterministic`, `canceled`, `budget_exhausted`, "
                  "`compilation_loop`, `structural`."),
    AttributeSpec("sim.preferred_label", "string", "", "simulate: edge label the outcome prefers."),
    AttributeSpec("sim.suggested_next_ids", "comma list", "", "simulate: suggested next nodes."),
    AttributeSpec("sim.context_updates", "json", "{}",
                  "simulate: a JSON object merged into the context."),
    AttributeSpec("sim.delay", "duration", "",
                  "simulate: how long the simulated call takes (cancellable)."),
)
