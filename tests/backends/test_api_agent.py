"""The ``api`` backend's agent loop against a fake provider speaking the OpenAI Responses API."""

from __future__ import annotations

import json

from attractor_core.engine import run_pipeline
from tests.handlers.helpers import survivors
from tests.llm.fake_server import Pause, Reply, wire_stream

from .support import attractor_run, events, read_json

RESPONSES = "/v1/responses"


def agent_pipeline(extra: str = "") -> str:
    return f"""digraph agent {{
  goal="greet the world"
  start [shape=Mdiamond]; done [shape=Msquare]
  code [prompt="Create hello.txt to $goal", llm_provider=fake, llm_model="gpt-test"{extra}]
  start -> code -> done
}}"""


def llm_option(fake) -> dict:
    return {"providers": {"fake": {"protocol": "openai_responses", "api_key_env": "",
                                   "base_url": f"{fake.url}/v1"}},
            "retry": {"max_retries": 0}}


def call(call_id: str, name: str, arguments) -> Reply:
    """A streamed answer holding one tool call (arguments split in two deltas)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    half = len(raw) // 2
    return Reply(sse=wire_stream("openai_responses", calls=[(call_id, name,
                                                             [raw[:half], raw[half:]])]))


def answer(text: str) -> Reply:
    """A streamed text-only answer, in two deltas."""
    return Reply(sse=wire_stream("openai_responses", text=[text[:3], text[3:]]))


def tool_outputs(fake) -> list[str]:
    """Every function_call_output the client sent back, in order (deduplicated by call id)."""
    seen: dict[str, str] = {}
    for request in fake.requests:
        for item in request.body.get("input", []):
            if item.get("type") == "function_call_output":
                seen.setdefault(item["call_id"], item["output"])
    return list(seen.values())


async def run_in_process(tmp_path, fake, dot: str, options=None, policy=None):
    (tmp_path / "p.dot").write_text(dot)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    options = {"backend": "api", "llm": llm_option(fake)} if options is None else options
    record = await run_pipeline(tmp_path / "p.dot", logs_root=tmp_path / "logs", workdir=work,
                                run_id="agent-run", handle_signals=False, options=options,
                                policy_overrides=policy)
    return record, tmp_path / "logs", work


async def test_attractor_run_agent_writes_a_file_through_tool_calls(tmp_path, fake):
    fake.script(call("c1", "write_file", {"file_path": "hello.txt", "content": "hello world\n"}),
                call("c2", "read_file", {"file_path": "hello.txt"}),
                answer("Created hello.txt."), path=RESPONSES)
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f"{fake.url}/v1"}
    dot = agent_pipeline().replace("llm_provider=fake", "llm_provider=openai")
    done, logs, work = await attractor_run(tmp_path, dot, "--backend", "api", env=env)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    assert (work / "hello.txt").read_text() == "hello world\n"
    assert tool_outputs(fake) == ["wrote 12 bytes to hello.txt", "   1 | hello world"]
    stage = logs / "code"
    assert (stage / "response.md").read_text() == "Created hello.txt."
    assert "Create hello.txt to greet the world" in (stage / "prompt.md").read_text()
    assert read_json(stage / "provider_used.json")["provider"] == "openai"
    assert read_json(stage / "api_request.json")["model"] == "gpt-test"
    assert read_json(stage / "api_response.json")["provider"] == "openai"
    calls = read_json(stage / "agent_calls.json")
    assert [c["tool"] for c in calls["calls"]] == ["write_file", "read_file"]
    tool_events = events(logs, "agent_tool_call")
    assert [(e["tool"], e["ok"]) for e in tool_events] == [("write_file", True),
                                                            ("read_file", True)]
    assert events(logs, "provider_selected")[0]["backend"] == "api"
    assert all(r.body["stream"] is True for r in fake.requests)
    # The key is sent as a header to the fake server only; never written to the stage dir.
    assert "sk-test" not in (stage / "api_request.json").read_text()


async def test_config_file_llm_table_chooses_the_backend_and_the_endpoint(tmp_path, fake):
    fake.script(answer("configured"), path=RESPONSES)
    (tmp_path / "run.toml").write_text(f"""
[llm.providers.fake]
protocol = "openai_responses"
api_key_env = ""
base_url = "{fake.url}/v1"
backend = "api"
""")
    dot = agent_pipeline(', codergen.mode="oneshot"')
    done, logs, _ = await attractor_run(tmp_path, dot, "--config", str(tmp_path / "run.toml"))
    assert done.returncode == 0, done.stderr.decode()
    assert (logs / "code" / "response.md").read_text() == "configured"
    assert len(fake.requests) == 1


async def test_schema_violation_is_an_error_result_and_the_model_recovers(tmp_path, fake):
    fake.script(call("c1", "write_file", {"file_path": "a.txt"}),
                call("c2", "write_file", {"file_path": "a.txt", "content": "x"}),
                answer("done"), path=RESPONSES)
    record, _logs, work = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    outputs = tool_outputs(fake)
    assert outputs[0].startswith("tool args schema validation failed for write_file")
    assert "'content' is a required property" in outputs[0]
    assert (work / "a.txt").read_text() == "x"


async def test_unknown_tool_is_an_error_result(tmp_path, fake):
    fake.script(call("c1", "delete_everything", {}), answer("sorry"), path=RESPONSES)
    record, _logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    assert tool_outputs(fake)[0].startswith("unknown tool: delete_everything; available:")


async def test_three_identical_malformed_rounds_end_the_stage_deterministically(tmp_path, fake):
    fake.script(*[call(f"c{i}", "write_file", {"file_path": "a.txt"}) for i in range(5)],
                path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "fail"
    assert "repeated malformed tool calls detected (repeats=3 limit=3)" in record.failure_reason
    assert len(fake.requests) == 3  # no fourth model call, no stage retry
    status = read_json(logs / "code" / "status.json")
    assert status["failure_class"] == "deterministic"


async def test_three_rounds_of_unparseable_arguments_end_the_stage_deterministically(
        tmp_path, fake):
    fake.script(*[call(f"c{i}", "write_file", '{"file_path": "a.txt", ') for i in range(5)],
                path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "fail"
    assert "repeated malformed tool calls detected" in record.failure_reason
    assert "not valid JSON" in record.failure_reason
    # Between the rounds the model was told what was wrong.
    told = json.dumps(fake.requests[1].body["input"])
    assert "invalid tool arguments JSON" in told
    tool_events = events(logs, "agent_tool_call")
    assert [(e["tool"], e["ok"]) for e in tool_events] == [("write_file", False)] * 3


async def test_three_identical_failing_rounds_end_the_stage(tmp_path, fake):
    fake.script(*[call(f"c{i}", "read_file", {"file_path": "missing.txt"}) for i in range(5)],
                path=RESPONSES)
    record, _, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "fail"
    assert "repeated failing tool calls detected" in record.failure_reason
    assert "file not found: missing.txt" in record.failure_reason


async def test_paths_escaping_the_workdir_are_rejected_symlinks_included(tmp_path, fake):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(outside, target_is_directory=True)
    (work / "dangling").symlink_to(outside / "not-yet.txt")
    (outside / "secret.txt").write_text("s3cret")
    fake.script(call("c1", "write_file", {"file_path": "../escaped.txt", "content": "x"}),
                call("c2", "write_file", {"file_path": "link/planted.txt", "content": "x"}),
                call("c3", "read_file", {"file_path": str(outside / "secret.txt")}),
                call("c4", "read_file", {"file_path": "link/secret.txt"}),
                call("c5", "write_file", {"file_path": "dangling", "content": "x"}),
                answer("gave up"), path=RESPONSES)
    record, _, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"  # rejected calls are results, not a crash
    outputs = tool_outputs(fake)
    assert len(outputs) == 5
    assert all("resolves outside the workdir" in o for o in outputs), outputs
    assert not (tmp_path / "escaped.txt").exists() and not (outside / "planted.txt").exists()
    assert not (outside / "not-yet.txt").exists()
    assert not any("s3cret" in o for o in outputs)


async def test_shell_timeout_kills_the_whole_process_group(tmp_path, fake):
    command = "sleep 300 & echo $! > bg.pid; echo started; wait"
    fake.script(call("c1", "shell", {"command": command, "timeout_ms": 500}),
                answer("timed out"), path=RESPONSES)
    record, _, work = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    output = tool_outputs(fake)[0]
    assert output.startswith("started")
    assert "[ERROR: Command timed out after 500ms." in output
    assert await survivors([int((work / "bg.pid").read_text())]) == []


async def test_long_tool_output_is_truncated_with_a_marker_for_the_model(tmp_path, fake):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "big.txt").write_text("".join(f"{i:05d} {'x' * 60}\n" for i in range(1500)))
    fake.script(call("c1", "read_file", {"file_path": "big.txt"}), answer("ok"), path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    shown = tool_outputs(fake)[0]
    assert "[WARNING: Tool output was truncated." in shown and len(shown) < 51_000
    full = read_json(logs / "code" / "agent_calls.json")["calls"][0]["output"]
    assert len(full) > 60_000  # the stage dir keeps the whole output


async def test_edit_grep_and_glob_tools_work_inside_the_workdir(tmp_path, fake):
    work = tmp_path / "work"
    (work / "pkg").mkdir(parents=True)
    (work / "pkg" / "a.py").write_text("x = 1\ny = x\n")
    (work / "notes.md").write_text("x = 1\n")
    fake.script(call("c1", "edit_file", {"file_path": "pkg/a.py", "old_string": "x",
                                         "new_string": "z"}),
                call("c2", "edit_file", {"file_path": "pkg/a.py", "old_string": "x",
                                         "new_string": "z", "replace_all": True}),
                call("c3", "grep", {"pattern": "^z", "glob_filter": "*.py"}),
                call("c4", "glob", {"pattern": "**/*.py"}),
                call("c5", "glob", {"pattern": "../*"}),
                answer("edited"), path=RESPONSES)
    record, _, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "success"
    outputs = tool_outputs(fake)
    assert outputs[0].startswith("Tool error (edit_file): old_string occurs 2 times")
    assert outputs[1] == "replaced 2 occurrence(s) in pkg/a.py"
    assert outputs[2] == "pkg/a.py:1:z = 1"
    assert outputs[3] == "pkg/a.py"
    assert "must be relative and stay inside the workdir" in outputs[4]
    assert (work / "pkg" / "a.py").read_text() == "z = 1\ny = z\n"


async def test_streamed_text_is_progress_so_a_slow_generation_is_not_a_stall(tmp_path, fake):
    chunks = wire_stream("openai_responses", text=[f"piece {i} " for i in range(10)])
    paced: list = []
    for chunk in chunks:
        paced += [chunk, Pause(0.25)]
    fake.script(Reply(sse=paced), path=RESPONSES)
    record, logs, _ = await run_in_process(
        tmp_path, fake, agent_pipeline(', codergen.mode="oneshot"'),
        policy={"stall_timeout": "1s", "stall_check_interval": "100ms",
                "heartbeat_interval": "100ms"})
    # The stream lasts over 2.5 s by construction and the stall timeout is 1 s: only the
    # streamed deltas, reported as progress, keep the watchdog from stopping the stage.
    assert record.status == "success", record.failure_reason
    assert (logs / "code" / "response.md").read_text().startswith("piece 0 piece 1")


async def test_oneshot_mode_makes_one_call_without_tools(tmp_path, fake):
    fake.script(answer("A haiku about code."), path=RESPONSES)
    record, logs, _ = await run_in_process(
        tmp_path, fake, agent_pipeline(', codergen.mode="oneshot"'))
    assert record.status == "success"
    assert len(fake.requests) == 1 and not fake.requests[0].body.get("tools")
    assert (logs / "code" / "response.md").read_text() == "A haiku about code."
    assert read_json(logs / "code" / "api_response.json")["message"]["role"] == "assistant"


async def test_llm_error_fails_the_stage_with_the_error_in_details(tmp_path, fake):
    fake.script(Reply(401, {"error": {"message": "bad key", "type": "invalid_api_key"}}),
                path=RESPONSES)
    record, logs, _ = await run_in_process(tmp_path, fake, agent_pipeline())
    assert record.status == "fail"
    assert "AuthenticationError" in record.failure_reason
    details = read_json(logs / "code" / "status.json")["details"]["llm_error"]
    assert details == {"type": "AuthenticationError", "status": 401, "provider": "fake",
                       "retryable": False, "message": details["message"]}
    calls = read_json(logs / "code" / "agent_calls.json")
    assert calls["stop"] == "interrupted" and "AuthenticationError" in calls["reason"]
    assert read_json(logs / "code" / "api_request.json")["model"] == "gpt-test"


async def test_bad_backend_attributes_are_refused_before_the_run(tmp_path, fake):
    dot = agent_pipeline(', codergen.mode="chat", agent.max_rounds=0')
    done, logs, _ = await attractor_run(tmp_path, dot, "--backend", "api")
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert "pipeline.dot:4: error codergen_backend_attrs: node code: codergen.mode='chat' is " \
           "not known; use agent or oneshot" in stderr
    assert fake.requests == [] and not logs.exists()




async def test_the_provider_table_chooses_the_backend_and_backend_option_overrides(
        tmp_path, fake):
    llm = llm_option(fake)
    llm["providers"]["fake"]["backend"] = "api"
    fake.script(answer("from the api"), path=RESPONSES)
    dot = agent_pipeline(', codergen.mode="oneshot"')
    first, second = tmp_path / "configured", tmp_path / "overridden"
    first.mkdir()
    second.mkdir()
    record, logs, _ = await run_in_process(first, fake, dot, {"llm": llm})
    assert record.status == "success" and len(fake.requests) == 1
    record, logs, _ = await run_in_process(second, fake, dot,
                                           {"llm": llm, "backend": "simulate"})
    assert record.status == "success" and len(fake.requests) == 1
    assert (logs / "code" / "response.md").read_text().startswith("[Simulated]")
