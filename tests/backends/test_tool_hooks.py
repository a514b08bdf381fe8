"""Tool call hooks (spec §9.7) around the agent loop's tool calls."""

from __future__ import annotations

import json

from .support import read_json
from .test_api_agent import RESPONSES, agent_pipeline, answer, call, run_in_process, tool_outputs


async def test_pre_hook_can_skip_a_call_and_post_hook_sees_every_call(tmp_path, fake):
    fake.script(call("c1", "write_file", {"file_path": "blocked.txt", "content": "no\n"}),
                call("c2", "glob", {"pattern": "*.txt"}),
                answer("Done."), path=RESPONSES)
    pre = ('if [ "$ATTRACTOR_TOOL_NAME" = write_file ]; then echo "writes are frozen" >&2; '
           'exit 1; fi')
    post = 'cat >> "$ATTRACTOR_WORKDIR/../post.jsonl"; echo >> "$ATTRACTOR_WORKDIR/../post.jsonl"'
    dot = agent_pipeline(f", tool_hooks.pre={json.dumps(pre)}, tool_hooks.post={json.dumps(post)}")
    record, logs, work = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    assert not (work / "blocked.txt").exists()  # the pre hook vetoed the call
    outputs = tool_outputs(fake)
    assert outputs[0] == ("Tool call skipped by tool_hooks.pre "
                          "(exit code 1: writes are frozen)")
    posts = [json.loads(x) for x in (tmp_path / "post.jsonl").read_text().split("\n") if x]
    assert [(p["hook"], p["tool"], p["is_error"]) for p in posts] == [
        ("post", "write_file", True), ("post", "glob", False)]
    log = [json.loads(x) for x in (logs / "code" / "tool_hooks.ndjson").read_text().splitlines()]
    assert [(x["hook"], x["tool"], x["exit_code"]) for x in log] == [
        ("pre", "write_file", 1), ("post", "write_file", 0), ("pre", "glob", 0),
        ("post", "glob", 0)]
    assert read_json(logs / "code" / "agent_calls.json")["calls"][0]["is_error"] is True


async def test_graph_level_hooks_apply_and_a_failing_post_hook_never_blocks(tmp_path, fake):
    fake.script(call("c1", "write_file", {"file_path": "a.txt", "content": "a\n"}),
                answer("Done."), path=RESPONSES)
    dot = agent_pipeline().replace('goal="greet the world"',
                                   'goal="greet the world"\n  tool_hooks.post="exit 3"')
    record, logs, work = await run_in_process(tmp_path, fake, dot)
    assert record.status == "success", record.failure_reason
    assert (work / "a.txt").read_text() == "a\n"
    log = [json.loads(x) for x in (logs / "code" / "tool_hooks.ndjson").read_text().splitlines()]
    assert log == [{"hook": "post", "tool": "write_file", "call_id": "c1", "exit_code": 3,
                    "stderr_tail": ""}]
