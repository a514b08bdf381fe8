"""Through the engine: a stage failing with a real LLM error is classed by the taxonomy.

A handler calls the unified client against the fake server and returns the
failure the way the codergen backends do (``details["llm_error"]``, no class).
The reason text is written to mislead the text heuristics, so only the
taxonomy hookimpl can get the class right.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attractor_core.model import Context, Graph, Node, Outcome
from attractor_core.plugins import hookimpl, make_plugin_manager
from attractor_core.protocols import StageRun
from attractor_plugins.llm.client import Client
from attractor_plugins.llm.errors import SDKError
from attractor_plugins.llm.taxonomy import classify_error, error_record
from attractor_plugins.llm.types import Message, Request
from tests.engine.support import attempts, final, pipeline, run

from .fake_server import FakeProvider, Reply


class _LlmStage:
    def __init__(self, url: str) -> None:
        self.env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"{url}/v1"}

    async def execute(self, node: Node, context: Context, graph: Graph,
                      run: StageRun) -> Outcome:
        config = {"llm": {"retry": {"max_retries": 0}}}
        async with Client.from_env(self.env, config) as client:
            try:
                await client.complete(Request(model="m", messages=[Message.user("go")]))
            except SDKError as err:
                return Outcome.fail(f"service unavailable (HTTP 503?) after {err}",
                                    details={"llm_error": error_record(err)},
                                    failure_signature=classify_error(err).signature)
        return Outcome.success()


class _Plugin:
    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def attractor_handler_types(self) -> dict[str, Any]:
        return {"llm_stage": _LlmStage(self.url)}


def dot(tmp_path: Path) -> Path:
    return pipeline(tmp_path, """
  call [shape=box, type=llm_stage, max_retries=2]
  start -> call -> exit""")


async def test_an_authentication_error_is_deterministic_and_not_retried(
        tmp_path: Path, fake: FakeProvider) -> None:
    fake.always(Reply(401, {"error": {"message": "invalid key"}}))
    pm = make_plugin_manager(extra_plugins=[_Plugin(fake.url)])
    record = await run(dot(tmp_path), tmp_path / "logs", pm=pm)
    assert attempts(tmp_path / "logs", "call") == [1]
    data = final(tmp_path / "logs")
    assert (record.status, data["failure_class"]) == ("fail", "deterministic")
    assert data["failure_signature"] == "api_deterministic|openai|authentication"


async def test_a_rate_limit_is_transient_and_the_stage_is_retried(
        tmp_path: Path, fake: FakeProvider) -> None:
    fake.script(Reply(429, {"error": {"message": "slow down"}}),
                Reply(429, {"error": {"message": "slow down"}}))
    fake.always(Reply(json={"id": "r", "model": "m", "status": "completed", "output": [
        {"type": "message", "content": [{"type": "output_text", "text": "ok"}]}]}))
    pm = make_plugin_manager(extra_plugins=[_Plugin(fake.url)])
    record = await run(dot(tmp_path), tmp_path / "logs", pm=pm)
    assert attempts(tmp_path / "logs", "call") == [1, 2, 3]
    assert record.status == "success"
