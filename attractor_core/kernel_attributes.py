"""The attributes the kernel itself reads (spec §2.5–2.7 plus the engine's own), as an
internal plugin of the ``attractor_attribute_schema`` hook.

Handler- and backend-specific attributes are declared by the plugins that read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attractor_core.attributes import ANY_NODE, EDGE, GRAPH, AttributeSpec
from attractor_core.plugins import hookimpl

A = AttributeSpec
FIDELITY = "full|truncate|compact|summary:low|summary:medium|summary:high"
# The retry presets (engine.retry.PRESETS has their numbers): named here too so that
# validation checks a retry_policy without importing the engine.
RETRY_PRESETS = ("none", "standard", "aggressive", "linear", "patient")
PRESET = "|".join(RETRY_PRESETS)

NODE: tuple[AttributeSpec, ...] = (
    A("label", "string", "node id", "Display name; the prompt of an LLM node that has none."),
    A("shape", "string", "box", "Picks the handler (see the shape table below)."),
    A("type", "string", "", "Explicit handler type; wins over `shape` (`type_known` warns about "
      "one no plugin provides)."),
    A("node_type", "string", "", "Another name for `type` (kilroy pipelines)."),
    A("prompt", "string", "", "The stage's instruction; `$goal` is expanded."),
    A("llm_prompt", "string", "", "Another name for `prompt` (kilroy pipelines)."),
    A("max_retries", "integer", "graph default_max_retries",
      "Extra attempts (≥ 0): `3` means up to 4 executions."),
    A("retry_policy", PRESET, "graph's", "Backoff preset between attempts (see the graph table)."),
    A("retry_on", "transient", "",
      "For tool nodes: retry only transient failures (default: any fail/retry)."),
    A("goal_gate", "boolean", "false",
      "Must end in `success`/`partial_success` (or a custom outcome an edge routed on) before "
      "the run may exit."),
    A("retry_target", "node id", "", "Jump here when this node fails and retries are spent."),
    A("fallback_retry_target", "node id", "", "Used when `retry_target` is missing or invalid."),
    A("fidelity", FIDELITY, "inherited", "Context fidelity of this node's LLM session."),
    A("thread_id", "string", "derived", "Session reuse key under `full` fidelity."),
    A("class", "comma list", "",
      "Stylesheet classes; subgraph labels add derived classes (`\"Loop A\"` → `loop-a`)."),
    A("timeout", "duration", "", "Deadline of one attempt (capped by `stage_timeout`)."),
    A("llm_model", "string", "stylesheet, graph, backend",
      "Model id, read by the codergen backends.", stylesheet=True),
    A("llm_provider", "string", "stylesheet, graph, auto-detected",
      "Provider key, read by the codergen backends.", stylesheet=True),
    A("reasoning_effort", "low|medium|high", "stylesheet, graph, high",
      "Reasoning depth, read by the codergen backends.", stylesheet=True),
    A("auto_status", "boolean", "false",
      "If the handler writes no status, count the stage as success."),
    A("allow_partial", "boolean", "false",
      "Accept `partial_success` when retries are exhausted."),
)

EDGE_ATTRIBUTES: tuple[AttributeSpec, ...] = (
    A("label", "string", "",
      "Caption and routing key for `preferred_label`; human-gate choices (`[A] Approve`)."),
    A("condition", "condition", "",
      "Guard, see [Conditions](#condition-language); empty means always."),
    A("weight", "integer", "0", "Higher wins among equally eligible edges."),
    A("fidelity", FIDELITY, "", "Fidelity of the target node; highest precedence."),
    A("thread_id", "string", "", "Session key for the target node."),
    A("loop_restart", "boolean", "false",
      "Taking this edge restarts the run in a fresh log directory (bounded by `max_restarts`)."),
)

GRAPH_ATTRIBUTES: tuple[AttributeSpec, ...] = (
    A("goal", "string", "",
      "The pipeline's goal. Replaces `$goal` in prompts; mirrored into the context as "
      "`graph.goal`."),
    A("label", "string", "", "Display name."),
    A("model_stylesheet", "string", "",
      "LLM defaults per node, see [Model stylesheet](#model-stylesheet)."),
    A("llm_model", "string", "",
      "Model of every node that sets none itself and gets none from the stylesheet "
      "(`--set llm_model=...` works too)."),
    A("llm_provider", "string", "", "Provider of every node that sets none."),
    A("reasoning_effort", "low|medium|high", "", "Reasoning depth of every node that sets none."),
    A("default_max_retries", "integer", "0", "Retries (≥ 0) for nodes without `max_retries`."),
    A("default_max_retry", "integer", "0", "Legacy name of `default_max_retries`."),
    A("retry_target", "node id", "",
      "Where to jump when the exit is reached with an unmet goal gate (and the failure "
      "fallback for nodes without their own)."),
    A("fallback_retry_target", "node id", "", "Used when `retry_target` is missing or invalid."),
    A("default_fidelity", FIDELITY, "",
      "Context fidelity of nodes and edges that set none (at run time: `compact`).",
      ("context_fidelity_default",)),
    A("thread_id", "string", "", "Session key of full-fidelity nodes that set none.",
      ("context_thread_default",)),
    A("retry_policy", PRESET, "",
      "Backoff preset for every node (delays in `attractor_core/engine/retry.py`)."),
    A("max_restarts", "integer", "50", "Cap on `loop_restart` restarts in one run."),
    A("max_node_visits", "integer", "0",
      "Visits of one node per loop iteration before the run fails as stuck in a cycle; `0`: "
      "no cap."),
    A("loop_restart_signature_limit", "integer", "3",
      "How often the same failure signature may recur (across loop restarts and "
      "deterministic failure cycles) before the run aborts."),
    A("loop_restart_persist_keys", "comma list", "", "Context keys kept over a loop restart."),
    A("stall_timeout", "duration", "600s",
      "Run policy: no progress on any active lane for this long cancels the run (`0` "
      "disables)."),
    A("stall_check_interval", "duration", "5s", "Run policy: how often the watchdog checks."),
    A("stage_timeout", "duration", "",
      "Run policy: cap on every stage's deadline (the smaller of this and the node's "
      "`timeout` wins)."),
    A("heartbeat_interval", "duration", "stall_timeout / 3",
      "Run policy: how often a running stage reports liveness (within 50 ms and 60 s)."),
    A("kill_grace", "duration", "2s",
      "Run policy: time between SIGTERM and SIGKILL of a stage's process group on cancel or "
      "timeout."),
)


@hookimpl
def attractor_attribute_schema() -> Mapping[str, Sequence[AttributeSpec]]:
    return {ANY_NODE: NODE, EDGE: EDGE_ATTRIBUTES, GRAPH: GRAPH_ATTRIBUTES}
