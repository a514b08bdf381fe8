"""The claude, codex and gemini stream parsers (reference Part A.2 formats)."""

from __future__ import annotations

import json

from attractor_plugins.backends.cli_streams import parse_stream


def lines(*events) -> list[str]:
    return [(e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events]


def test_claude_result_line_is_the_answer_and_usage_is_summed():
    text = lines(
        {"type": "system", "subtype": "init"},
        {"type": "assistant", "message": {"content": [
            {"type": "text", "text": "Running tests."},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest"}}],
            "usage": {"input_tokens": 812, "output_tokens": 37}}},
        "plain warning line",
        {"type": "result", "subtype": "success", "is_error": False, "result": "Tests pass.",
         "session_id": "s-42"})
    result = parse_stream("claude", text)
    assert (result.text, result.is_error, result.tool_calls) == ("Tests pass.", False, 1)
    assert (result.input_tokens, result.output_tokens) == (812, 37)
    assert (result.session_id, result.events, result.bad_lines) == ("s-42", 3, 1)


def test_claude_without_result_joins_assistant_text():
    text = lines({"type": "assistant", "message": {"content": [{"type": "text", "text": "a"}]}},
                 {"type": "assistant", "message": {"content": [{"type": "text", "text": "b"}]}})
    assert parse_stream("claude", text).text == "a\nb"


def test_claude_error_subtype_is_an_error_even_when_is_error_is_missing():
    result = parse_stream("claude", lines({"type": "result", "subtype": "error_max_turns"}))
    assert result.is_error and "error_max_turns" in result.error


def test_codex_last_agent_message_wins_and_turn_failed_is_an_error():
    text = lines({"type": "thread.started", "thread_id": "t-1"},
                 {"type": "item.completed", "item": {"type": "agent_message", "text": "first"}},
                 {"type": "item.completed", "item": {"type": "agent_message", "text": "last"}},
                 {"type": "turn.completed", "usage": {"input_tokens": 5, "output_tokens": 2}})
    result = parse_stream("codex", text)
    assert (result.text, result.is_error, result.session_id) == ("last", False, "t-1")
    failed = parse_stream("codex", lines({"type": "turn.failed",
                                          "error": {"message": "stream disconnected"}}))
    assert failed.is_error and failed.error == "stream disconnected"


def test_gemini_deltas_are_concatenated_and_result_status_is_read():
    text = lines({"type": "init", "session_id": "g-5"},
                 {"type": "message", "role": "user", "content": "ignored"},
                 {"type": "message", "role": "assistant", "content": "Hel", "delta": True},
                 {"type": "message", "role": "assistant", "content": "lo", "delta": True},
                 {"type": "tool_use", "tool_name": "read", "tool_id": "1", "parameters": {}},
                 {"type": "result", "status": "success", "stats": {"input_tokens": 9}})
    result = parse_stream("gemini", text)
    assert (result.text, result.tool_calls, result.input_tokens) == ("Hello", 1, 9)
    assert parse_stream("gemini", lines({"type": "result", "status": "error"})).is_error


def test_non_object_lines_are_counted_not_fatal():
    result = parse_stream("codex", ["[1, 2]\n", "{bad json\n", "\n"])
    assert (result.events, result.bad_lines, result.text) == (0, 2, "")
