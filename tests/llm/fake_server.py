"""A real HTTP/1.1 server on 127.0.0.1 that plays scripted provider answers.

It runs in the test's own trio nursery (h11 over ``trio.serve_tcp``), so
there is no thread and no network beyond the loopback. Each test scripts
the replies it needs, per path or for any path, in order; every request is
recorded (path, headers, JSON body) so a test can check what the client
sent. An unscripted request gets a 599 that names the path, so a test
never passes by accident.

A reply is a status, headers and either a JSON body or a list of SSE
chunks. Between chunks a :class:`Pause` waits, and :data:`STALL` stops
sending forever (the connection stays open), which is how a stalled
stream is simulated. ``wire_*`` functions build the chunks of each
provider's streaming format.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import trio


@attrs.frozen
class Pause:
    seconds: float


STALL = Pause(float("inf"))


@attrs.frozen
class Reply:
    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    sse: Sequence[str | Pause] | None = None
    body: bytes | None = None


@attrs.frozen
class Recorded:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class FakeProvider:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Recorded] = []
        self.connections = 0
        self._queues: dict[str | None, deque[Reply]] = {}
        self._fallback: Reply | None = None
        # A provider's own request validation: a reply here is sent instead of the script's.
        self.check: Callable[[Recorded], Reply | None] | None = None

    def script(self, *replies: Reply, path: str | None = None) -> None:
        self._queues.setdefault(path, deque()).extend(replies)

    def always(self, reply: Reply) -> None:
        """Answer every unscripted request with ``reply`` (benchmarks)."""
        self._fallback = reply

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _next(self, path: str) -> Reply:
        for key in (path.split("?")[0], None):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        if self._fallback is not None:
            return self._fallback
        return Reply(599, {"error": {"message": f"fake server: no reply scripted for {path}"}})

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(conn, stream)
                if request is None:
                    return
                self.requests.append(request)
                refused = self.check(request) if self.check is not None else None
                await _send_reply(conn, stream, refused or self._next(request.path))
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            await stream.aclose()


async def _read_request(conn: h11.Connection, stream: trio.SocketStream) -> Recorded | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            conn.receive_data(data)
            if not data and head is None:
                return None
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body.extend(event.data)
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode().lower(): v.decode() for k, v in head.headers}
            parsed = json.loads(body) if body else None
            return Recorded(head.method.decode(), head.target.decode(), headers, parsed)
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _send_reply(conn: h11.Connection, stream: trio.SocketStream, reply: Reply) -> None:
    headers = [(k, v) for k, v in reply.headers.items()]
    if reply.sse is not None:
        headers.append(("content-type", "text/event-stream"))
        await stream.send_all(conn.send(h11.Response(status_code=reply.status, headers=headers)))
        for chunk in reply.sse:
            if isinstance(chunk, Pause):
                await trio.sleep(chunk.seconds)
            else:
                await stream.send_all(conn.send(h11.Data(data=chunk.encode())))
    else:
        body = reply.body if reply.body is not None else json.dumps(reply.json).encode()
        headers += [("content-type", "application/json"), ("content-length", str(len(body)))]
        await stream.send_all(conn.send(h11.Response(status_code=reply.status, headers=headers)))
        await stream.send_all(conn.send(h11.Data(data=body)))
    await stream.send_all(conn.send(h11.EndOfMessage()))


@asynccontextmanager
async def running_fake_provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(
            trio.serve_tcp, fake.handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        yield fake
        nursery.cancel_scope.cancel()


# -- wire formats ---------------------------------------------------------------------
def sse(data: Any, event: str | None = None) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


def wire_openai_responses(text: Iterable[str] = (), calls: Iterable[tuple[str, str, list[str]]] = (),
                          usage: Mapping[str, Any] | None = None, *, complete: bool = True,
                          ) -> list[str | Pause]:
    """Responses API stream: text deltas, then function calls (id, name, argument pieces)."""
    text, calls = list(text), list(calls)
    out: list[str | Pause] = [sse({"type": "response.created",
                                   "response": {"id": "resp_1", "model": "gpt-test"}},
                                  "response.created")]
    if text:
        out += [sse({"type": "response.output_item.added",
                     "item": {"type": "message", "id": "msg_1"}}, "response.output_item.added")]
        out += [sse({"type": "response.output_text.delta", "item_id": "msg_1", "delta": t},
                    "response.output_text.delta") for t in text]
        out += [sse({"type": "response.output_item.done", "item": {
            "type": "message", "id": "msg_1",
            "content": [{"type": "output_text", "text": "".join(text)}]}},
            "response.output_item.done")]
    output: list[dict[str, Any]] = []
    for call_id, name, pieces in calls:
        item = {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id, "name": name}
        out.append(sse({"type": "response.output_item.added", "item": {**item, "arguments": ""}},
                       "response.output_item.added"))
        out += [sse({"type": "response.function_call_arguments.delta", "item_id": f"fc_{call_id}",
                     "delta": p}, "response.function_call_arguments.delta") for p in pieces]
        done = {**item, "arguments": "".join(pieces)}
        output.append(done)
        out.append(sse({"type": "response.output_item.done", "item": done},
                       "response.output_item.done"))
    if complete:
        out.append(sse({"type": "response.completed", "response": {
            "id": "resp_1", "model": "gpt-test", "status": "completed", "output": output,
            "usage": dict(usage or {})}}, "response.completed"))
    return out


def wire_openai_chat(text: Iterable[str] = (), calls: Iterable[tuple[str, str, list[str]]] = (),
                     usage: Mapping[str, Any] | None = None) -> list[str | Pause]:
    text, calls = list(text), list(calls)
    base = {"id": "chatcmpl-1", "model": "chat-test"}
    out: list[str | Pause] = [sse({**base, "choices": [{"index": 0, "delta": {"content": t}}]})
                              for t in text]
    for index, (call_id, name, pieces) in enumerate(calls):
        out.append(sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{
            "index": index, "id": call_id, "type": "function",
            "function": {"name": name, "arguments": ""}}]}}]}))
        out += [sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{
            "index": index, "function": {"arguments": p}}]}}]}) for p in pieces]
    reason = "tool_calls" if calls else "stop"
    out.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}))
    if usage:
        out.append(sse({**base, "choices": [], "usage": dict(usage)}))
    return [*out, sse("[DONE]")]


def wire_anthropic(text: Iterable[str] = (), calls: Iterable[tuple[str, str, list[str]]] = (),
                   usage: Mapping[str, Any] | None = None, thinking: str = "",
                   ) -> list[str | Pause]:
    text, calls, usage = list(text), list(calls), dict(usage or {})
    out: list[str | Pause] = [sse({"type": "message_start", "message": {
        "id": "msg_1", "model": "claude-test",
        "usage": {**usage, "output_tokens": 1}}},
        "message_start")]
    index = 0
    if thinking:
        out += [sse({"type": "content_block_start", "index": index,
                     "content_block": {"type": "thinking", "thinking": ""}}, "content_block_start"),
                sse({"type": "content_block_delta", "index": index,
                     "delta": {"type": "thinking_delta", "thinking": thinking}},
                    "content_block_delta"),
                sse({"type": "content_block_delta", "index": index,
                     "delta": {"type": "signature_delta", "signature": "sig-1"}},
                    "content_block_delta"),
                sse({"type": "content_block_stop", "index": index}, "content_block_stop")]
        index += 1
    if text:
        out.append(sse({"type": "content_block_start", "index": index,
                        "content_block": {"type": "text", "text": ""}}, "content_block_start"))
        out.append(sse({"type": "ping"}, "ping"))
        out += [sse({"type": "content_block_delta", "index": index,
                     "delta": {"type": "text_delta", "text": t}}, "content_block_delta")
                for t in text]
        out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1
    for call_id, name, pieces in calls:
        out.append(sse({"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": call_id, "name": name, "input": {}}},
            "content_block_start"))
        out += [sse({"type": "content_block_delta", "index": index,
                     "delta": {"type": "input_json_delta", "partial_json": p}},
                    "content_block_delta") for p in pieces]
        out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1
    out.append(sse({"type": "message_delta",
                    "delta": {"stop_reason": "tool_use" if calls else "end_turn"},
                    "usage": {"output_tokens": usage.get("output_tokens", 0)}}, "message_delta"))
    return [*out, sse({"type": "message_stop"}, "message_stop")]


def wire_gemini(text: Iterable[str] = (), calls: Iterable[tuple[str, dict[str, Any]]] = (),
                usage: Mapping[str, Any] | None = None) -> list[str | Pause]:
    text, calls = list(text), list(calls)
    out: list[str | Pause] = [sse({"candidates": [{"content": {"role": "model",
                                                               "parts": [{"text": t}]}}],
                                   "modelVersion": "gemini-test", "responseId": "g-1"})
                              for t in text]
    parts = [{"functionCall": {"name": name, "args": args}} for name, args in calls]
    final: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": parts},
                                             "finishReason": "STOP"}],
                             "modelVersion": "gemini-test", "responseId": "g-1"}
    if usage:
        final["usageMetadata"] = dict(usage)
    return [*out, sse(final)]


def json_reply(protocol: str, text: str = "", calls: Iterable[tuple[str, str, str]] = (),
               usage: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A non-streaming answer in ``protocol``'s shape; calls are (id, name, arguments JSON)."""
    calls, usage = list(calls), dict(usage or {})
    if protocol == "openai_responses":
        output: list[dict[str, Any]] = []
        if text:
            output.append({"type": "message", "id": "msg_1", "role": "assistant",
                           "content": [{"type": "output_text", "text": text}]})
        output += [{"type": "function_call", "id": f"fc_{i}", "call_id": i, "name": n,
                    "arguments": a} for i, n, a in calls]
        return {"id": "resp_1", "model": "gpt-test", "status": "completed", "output": output,
                "usage": usage}
    if protocol == "openai_chat":
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = [{"id": i, "type": "function",
                                      "function": {"name": n, "arguments": a}}
                                     for i, n, a in calls]
        return {"id": "chatcmpl-1", "model": "chat-test", "usage": usage, "choices": [
            {"index": 0, "message": message,
             "finish_reason": "tool_calls" if calls else "stop"}]}
    if protocol == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content += [{"type": "tool_use", "id": i, "name": n, "input": json.loads(a)}
                    for i, n, a in calls]
        return {"id": "msg_1", "model": "claude-test", "type": "message", "role": "assistant",
                "content": content, "stop_reason": "tool_use" if calls else "end_turn",
                "usage": usage}
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    parts += [{"functionCall": {"name": n, "args": json.loads(a)}} for _i, n, a in calls]
    return {"candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "STOP"}],
            "usageMetadata": usage, "modelVersion": "gemini-test", "responseId": "g-1"}


def wire_stream(protocol: str, text: Iterable[str] = (),
                calls: Iterable[tuple[str, str, list[str]]] = (),
                usage: Mapping[str, Any] | None = None) -> list[str | Pause]:
    """The stream of ``protocol`` with the same content, whatever the protocol."""
    if protocol == "openai_responses":
        return wire_openai_responses(text, calls, usage)
    if protocol == "openai_chat":
        return wire_openai_chat(text, calls, usage)
    if protocol == "anthropic":
        return wire_anthropic(text, calls, usage)
    return wire_gemini(text, [(n, json.loads("".join(p))) for _i, n, p in calls], usage)
