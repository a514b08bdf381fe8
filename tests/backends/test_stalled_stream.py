"""A provider stream that stops sending is caught by the stall watchdog."""

from __future__ import annotations

from tests.llm.fake_server import STALL, Reply, wire_stream

from .support import read_json
from .test_api_agent import RESPONSES, agent_pipeline, run_in_process


async def test_a_stalled_stream_is_caught_by_the_watchdog(tmp_path, fake):
    chunks = wire_stream("openai_responses", text=["the beginning ", "of an answer"])
    fake.script(Reply(sse=[*chunks[:2], STALL]), path=RESPONSES)
    record, logs, _ = await run_in_process(
        tmp_path, fake, agent_pipeline(', codergen.mode="oneshot"'),
        policy={"stall_timeout": "1s", "stall_check_interval": "100ms",
                "heartbeat_interval": "100ms"})
    assert (record.status, record.exit_path) == ("fail", "watchdog_stall")
    assert "stall watchdog" in record.failure_reason
    status = read_json(logs / "code" / "status.json")
    assert (status["outcome"], status["failure_class"]) == ("fail", "canceled")
    assert len(fake.requests) == 1  # a cancelled request is never retried
