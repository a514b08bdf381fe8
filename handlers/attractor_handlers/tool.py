"""The tool handler (spec §4.10): runs ``tool_command`` with ``/bin/sh -c``.

Contract (docs/handlers.md):

* ``tool_shell`` (node, else graph attribute) replaces ``/bin/sh``, e.g.
  ``bash`` for commands that use bash features such as ``PIPESTATUS``;
* cwd is the run's workdir; the environment is ``run.environment()``
  (``os.environ`` plus the ATTRACTOR_* variables); stdin is /dev/null;
* stdout and stderr stream to ``stdout.log`` and ``stderr.log`` in the
  stage dir, never into memory;
* exit 0 is success; anything else fails with the last non-empty stderr
  line as the reason (else ``exit code N``);
* ``tool.output`` (the first :data:`OUTPUT_LIMIT` bytes of stdout) and
  ``tool.exit_code`` go into the context;
* the command runs in its own process group, which is stopped as a whole
  on cancellation (see :mod:`attractor_handlers.process_group`).
"""

from __future__ import annotations

import signal
from pathlib import Path

from attrs import frozen

from attractor_core.sdk import (
    CONVERTER,
    Context,
    FailureClass,
    Graph,
    GroupTable,
    Node,
    Outcome,
    StageRun,
    kill_grace_seconds,
    run_in_group,
    write_json_atomic,
)
from attractor_handlers.attribute_schema import DEFAULT_SHELL

OUTPUT_LIMIT = 64 * 1024
TRUNCATION_MARKER = "\n[... truncated: {total} bytes in total, full output in {path}]"
_REASON_LIMIT = 500
_STDERR_TAIL_BYTES = 8 * 1024



@frozen
class ToolInvocation:
    """``tool_invocation.json``: what ran and how it ended."""

    node_id: str
    command: str
    workdir: str
    exit_code: int
    stdout_bytes: int
    stderr_bytes: int


class ToolHandler:
    # A command may write a status file with a custom outcome for edges to route on.
    custom_outcomes = True
    # A command's failure says nothing about its class, so any failure but a cancellation
    # is worth another attempt (unless the node sets retry_on=transient).
    retries_any_failure = True

    def __init__(self) -> None:
        # Shared by this run's tool stages: one /proc scan serves every cancelled group.
        self.groups = GroupTable()

    async def execute(self, node: Node, context: Context, graph: Graph, run: StageRun) -> Outcome:
        command = node.get("tool_command").strip()
        if not command:
            return Outcome.fail(
                f"node {node.id}: no tool_command attribute; add tool_command=\"...\" to the node",
                FailureClass.DETERMINISTIC.value,
            )
        shell = tool_shell(node, graph)
        try:
            code = await _run_logged(command, shell, run, self.groups)
        except OSError as exc:
            return Outcome.fail(
                f"node {node.id}: cannot start tool_command with {shell} in workdir "
                f"{run.workdir}: {exc}",
                FailureClass.DETERMINISTIC.value,
            )
        _record(run, node, command, code)
        updates = {"tool.output": read_output(run.stage_dir / "stdout.log"), "tool.exit_code": code}
        if code == 0:
            return Outcome.success(notes=f"tool exited 0: {command}", context_updates=updates)
        reason = failure_reason(run.stage_dir / "stderr.log", code)
        return Outcome.fail(reason, context_updates=updates)


async def _run_logged(command: str, shell: str, run: StageRun, groups: GroupTable) -> int:
    """Run the command with its output streamed to the stage dir's log files."""
    with (run.stage_dir / "stdout.log").open("wb") as out, \
            (run.stage_dir / "stderr.log").open("wb") as err:
        return await run_in_group(
            command, shell=shell, cwd=run.workdir, env=run.environment(), stdout=out,
            stderr=err, kill_grace=kill_grace_seconds(run), table=groups,
        )


def tool_shell(node: Node, graph: Graph) -> str:
    """The shell that runs ``tool_command``: node ``tool_shell``, else graph's, else /bin/sh."""
    return node.get("tool_shell") or graph.get("tool_shell") or DEFAULT_SHELL


def read_output(path: Path, limit: int = OUTPUT_LIMIT) -> str:
    """The first ``limit`` bytes of ``path`` as text, with a marker when there was more."""
    total = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(limit)
    text = head.decode("utf-8", errors="replace")
    if total > limit:
        text += TRUNCATION_MARKER.format(total=total, path=path.name)
    return text


def failure_reason(stderr_path: Path, code: int) -> str:
    """The last non-empty stderr line, else the exit code (or the killing signal)."""
    size = stderr_path.stat().st_size
    with stderr_path.open("rb") as handle:
        handle.seek(max(0, size - _STDERR_TAIL_BYTES))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if lines:
        return lines[-1][:_REASON_LIMIT]
    if code < 0:
        return f"killed by signal {_signal_name(-code)}"
    return f"exit code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _record(run: StageRun, node: Node, command: str, code: int) -> None:
    invocation = ToolInvocation(
        node_id=node.id,
        command=command,
        workdir=str(run.workdir),
        exit_code=code,
        stdout_bytes=(run.stage_dir / "stdout.log").stat().st_size,
        stderr_bytes=(run.stage_dir / "stderr.log").stat().st_size,
    )
    run.progress(invocation.stdout_bytes + invocation.stderr_bytes)
    write_json_atomic(run.stage_dir / "tool_invocation.json", CONVERTER.unstructure(invocation))
