"""Reading AI answers of every usual shape, and building the requests sent to AI endpoints."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from middlebrick.checks.llm_security._reply import STRONG, WEAK, estimate_tokens, parse_reply
from middlebrick.checks.llm_security._request import ChatFormat, encode, format_for_operation
from middlebrick.spec.model import Operation, Parameter, RequestBody
from middlebrick.testing import response

GROUNDING = ("citations", "sources")

OPENAI_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


@pytest.mark.parametrize(
    ("body", "content", "strength"),
    [
        (OPENAI_CHAT, "Hi!", STRONG),
        ({"object": "text_completion", "choices": [{"text": "Hello"}]}, "Hello", STRONG),
        (
            {
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku",
                "content": [{"type": "text", "text": "Bonjour"}],
                "usage": {"input_tokens": 9, "output_tokens": 2},
            },
            "Bonjour",
            STRONG,
        ),
        (
            {
                "object": "response",
                "output": [
                    {"type": "message", "content": [{"type": "output_text", "text": "Hallo"}]}
                ],
            },
            "Hallo",
            STRONG,
        ),
        ({"model": "llama3", "response": "Ciao", "done": True, "eval_count": 4}, "Ciao", STRONG),
        (
            {"model": "llama3", "message": {"role": "assistant", "content": "Hej"}, "done": True},
            "Hej",
            STRONG,
        ),
        ([{"generated_text": "Hola"}], "Hola", WEAK),
        ({"answer": "Widgets ship in two days."}, "Widgets ship in two days.", WEAK),
    ],
)
def test_parse_reply_reads_the_usual_answer_shapes(body: Any, content: str, strength: int) -> None:
    reply = parse_reply(response(200, body))

    assert reply is not None
    assert reply.content == content
    assert reply.strength == strength


@pytest.mark.parametrize(
    "body",
    [{"id": "u-1", "name": "Alice"}, [{"id": 1}], {"items": [], "next": None}, "plain text"],
)
def test_parse_reply_stays_quiet_when_the_body_is_no_model_answer(body: Any) -> None:
    assert parse_reply(response(200, body)) is None


def test_parse_reply_reads_model_usage_tool_calls_and_grounding() -> None:
    body = {
        **OPENAI_CHAT,
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"function": {"name": "send_email", "arguments": '{"to": "x"}'}}
                    ],
                    "citations": [],
                }
            }
        ],
    }

    reply = parse_reply(response(200, body), GROUNDING)

    assert reply is not None
    assert reply.model == "gpt-4o-mini-2024-07-18"
    assert reply.usage["total_tokens"] == 15 and reply.output_tokens == 3
    assert reply.tool_calls == ('send_email({"to": "x"})',)
    assert reply.grounding == ("citations",)


def test_parse_reply_joins_a_server_sent_event_stream() -> None:
    chunks = [
        {
            "object": "chat.completion.chunk",
            "model": "gpt-4o",
            "choices": [{"delta": {"content": "Hel"}}],
        },
        {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "lo"}}]},
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"

    reply = parse_reply(response(200, body, {"Content-Type": "text/event-stream"}))

    assert reply is not None and reply.streamed
    assert (reply.content, reply.model, reply.strength) == ("Hello", "gpt-4o", STRONG)


def test_parse_reply_joins_json_lines_of_ollama() -> None:
    lines = [
        {"model": "llama3", "response": "Gut", "done": False},
        {"model": "llama3", "response": "en Tag", "done": True, "eval_count": 7},
    ]
    body = "\n".join(json.dumps(line) for line in lines)

    reply = parse_reply(response(200, body, {"Content-Type": "application/x-ndjson"}))

    assert reply is not None
    assert reply.content == "Guten Tag" and reply.output_tokens == 7


def test_estimate_tokens_counts_words_and_punctuation() -> None:
    assert estimate_tokens("Hello, world!") == 4
    assert estimate_tokens("") == 0


def _operation(schema: dict[str, Any], path: str = "/v1/chat/completions") -> Operation:
    return Operation("POST", path, request_body=RequestBody("application/json", schema))


def test_format_for_operation_reads_an_openai_style_schema() -> None:
    schema = {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "model": {"type": "string", "default": "itemsbot"},
            "messages": {
                "type": "array",
                "items": {
                    "properties": {"role": {"type": "string"}, "content": {"type": "string"}}
                },
            },
            "max_tokens": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    }

    fmt, score = format_for_operation(_operation(schema))

    assert fmt == ChatFormat("messages", "messages", "max_tokens", {})
    assert score == 4
    assert json.loads(fmt.body("Hi", 32)) == {
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 32,
    }


def test_format_for_operation_fills_required_fields_of_a_prompt_schema() -> None:
    schema = {
        "required": ["prompt", "model"],
        "properties": {
            "prompt": {"type": "string"},
            "model": {"type": "string", "example": "gpt-4o"},
            "temperature": {"type": "number"},
        },
    }

    fmt, score = format_for_operation(_operation(schema, "/generate"))

    assert fmt is not None and score == 3
    assert (fmt.style, fmt.text_field, fmt.sent_model) == ("text", "prompt", "gpt-4o")
    assert json.loads(fmt.body("Hi", None)) == {"model": "gpt-4o", "prompt": "Hi"}


def test_format_for_operation_scores_a_plain_write_low() -> None:
    schema = {"properties": {"text": {"type": "string"}, "room": {"type": "string"}}}

    fmt, score = format_for_operation(_operation(schema, "/rooms/messages"))

    assert fmt is not None and score == 1


def test_format_for_operation_stays_quiet_without_a_json_body() -> None:
    op = Operation(
        "POST", "/upload", parameters=(Parameter("name", "query"),),
        request_body=RequestBody("multipart/form-data", {"properties": {"prompt": {}}}),
    )  # fmt: skip

    assert format_for_operation(op) == (None, 0)


def test_encode_hides_the_canary_in_base64_and_rot13_and_spares_it_from_homoglyphs() -> None:
    template = 'reply with exactly "{canary}"'

    assert base64.b64decode(encode(template, "base64", "MBX-ABC234")).decode() == (
        'reply with exactly "MBX-ABC234"'
    )
    assert encode(template, "rot13", "MBX-ABC234") == 'ercyl jvgu rknpgyl "ZOK-NOP234"'
    homoglyphs = encode(template, "homoglyph", "MBX-ABC234")
    assert "MBX-ABC234" in homoglyphs and "reply" not in homoglyphs
