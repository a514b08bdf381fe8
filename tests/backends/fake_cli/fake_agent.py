"""A fake agent CLI for the ``cli`` backend tests; ``claude``, ``codex`` and ``gemini`` exec it.

It checks its argv the way the real CLI would need it, reads the prompt
from stdin, keeps a copy in ``$ATTRACTOR_WORKDIR/seen_prompt.txt``, then
acts out ``$FAKE_CLI_SCENARIO``:

``ok``          the flavour's stream, status.json written via $ATTRACTOR_STATUS_PATH
``fallback``    the stream, status.json written in the workdir instead (fallback source)
``no_status``   the stream, no status file
``error``       the flavour's own error event, exit 1, a line on stderr
``idle``        one event, then a grandchild and itself sleep; pids in $ATTRACTOR_WORKDIR/pids
``stubborn``    like ``idle``, but the CLI and its grandchild ignore SIGTERM
``disconnect``  codex's turn.failed "stream disconnected before completion", exit 1
``slow``        like ``ok``, but one event every 0.3 s for about 2.5 s before the status file
"""

import json
import os
import signal
import subprocess
import sys
import time

FLAVOUR = sys.argv[1]
ARGS = sys.argv[2:]
REQUIRED = {
    "claude": ["-p", "--output-format", "stream-json", "--verbose",
               "--dangerously-skip-permissions"],
    "codex": ["exec", "--json", "--sandbox", "--skip-git-repo-check", "-C"],
    "gemini": ["--output-format", "stream-json", "--yolo"],
}
STREAMS = {
    "claude": [
        {"type": "system", "subtype": "init", "session_id": "s-42"},
        {"type": "assistant", "message": {"id": "m1", "role": "assistant", "content": [
            {"type": "text", "text": "Writing the file."},
            {"type": "tool_use", "id": "tu_1", "name": "Write", "input": {"file_path": "x"}}],
            "usage": {"input_tokens": 10, "output_tokens": 5}}},
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": "ok", "is_error": False}]}},
        {"type": "result", "subtype": "success", "is_error": False,
         "result": "claude final answer", "num_turns": 2, "session_id": "s-42",
         "total_cost_usd": 0.0421,
         "usage": {"input_tokens": 1200, "cache_creation_input_tokens": 3000,
                   "cache_read_input_tokens": 16000, "output_tokens": 800}},
    ],
    "codex": [
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "turn.started"},
        {"type": "item.started", "item": {"id": "i1", "type": "command_execution",
                                          "command": "ls", "status": "in_progress"}},
        {"type": "item.completed", "item": {"id": "i2", "type": "agent_message",
                                            "text": "codex final answer"}},
        {"type": "turn.completed", "usage": {"input_tokens": 20000, "cached_input_tokens": 5000,
                                             "output_tokens": 1000}},
    ],
    "gemini": [
        {"type": "init", "timestamp": "t", "session_id": "g-5", "model": "m"},
        {"type": "message", "role": "user", "content": "prompt"},
        {"type": "message", "role": "assistant", "content": "gemini ", "delta": True},
        {"type": "message", "role": "assistant", "content": "final answer", "delta": True},
        {"type": "result", "status": "success", "stats": {"input_tokens": 400_000,
                                                          "output_tokens": 20_000}},
    ],
}
ERRORS = {
    "claude": {"type": "result", "subtype": "error_during_execution", "is_error": True,
               "result": "tool crashed"},
    "codex": {"type": "turn.failed", "error": {"message": "model refused the request"}},
    "gemini": {"type": "result", "status": "error", "error": {"message": "quota hit"}},
}


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def write_status(path):
    with open(path, "w") as fh:
        json.dump({"outcome": "success", "notes": f"{FLAVOUR} did it",
                   "run_id": os.environ["ATTRACTOR_RUN_ID"],
                   "node_id": os.environ["ATTRACTOR_NODE_ID"],
                   "attempt": int(os.environ["ATTRACTOR_ATTEMPT"])}, fh)


def main():
    missing = [flag for flag in REQUIRED[FLAVOUR] if flag not in ARGS]
    if missing:
        sys.stderr.write(f"error: unknown usage, missing {missing}\n")
        return 2
    prompt = sys.stdin.read()
    workdir = os.environ["ATTRACTOR_WORKDIR"]
    with open(os.path.join(workdir, "seen_prompt.txt"), "w") as fh:
        fh.write(prompt)
    with open(os.path.join(workdir, "seen_argv.json"), "w") as fh:
        json.dump(ARGS, fh)
    scenario = os.environ.get("FAKE_CLI_SCENARIO", "ok")
    if scenario in ("idle", "stubborn"):
        emit(STREAMS[FLAVOUR][0])
        if scenario == "stubborn":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the grandchild
        child = subprocess.Popen(["sleep", "300"])
        with open(os.path.join(workdir, "pids"), "w") as fh:
            fh.write(f"{os.getpid()}\n{child.pid}\n")
        time.sleep(300)
        return 0
    if scenario == "disconnect":
        emit({"type": "turn.failed",
              "error": {"message": "stream disconnected before completion"}})
        return 1
    if scenario == "error":
        emit(STREAMS[FLAVOUR][0])
        emit(ERRORS[FLAVOUR])
        sys.stderr.write(f"{FLAVOUR}: giving up\n")
        return 1
    if scenario == "slow":
        for _ in range(8):
            emit(STREAMS[FLAVOUR][0])
            time.sleep(0.3)
    for event in STREAMS[FLAVOUR]:
        emit(event)
        sys.stdout.write("not json: a warning line\n")
    if scenario in ("ok", "slow"):
        write_status(os.environ["ATTRACTOR_STATUS_PATH"])
    elif scenario == "fallback":
        write_status(os.path.join(workdir, "status.json"))
    return 0


sys.exit(main())
