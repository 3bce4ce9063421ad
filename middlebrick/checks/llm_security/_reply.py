"""Reading an AI endpoint's answer: its text, model, token usage, tool calls and how LLM-like it is.

``parse_reply`` understands the usual shapes — OpenAI chat and text completions, the Responses
API, Anthropic messages, Ollama, Hugging Face ``generated_text`` — whole or streamed (server-sent
events or one JSON object per line), and plain ``{"answer": "…"}`` objects. ``strength`` says how
sure the shape is: ``STRONG`` for provider shapes (``choices``, ``usage`` token counts,
``finish_reason``…), ``WEAK`` for a lone text field, which only counts with other evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from middlebrick.http.exchange import Response

STRONG = 2
WEAK = 1

_TEXT_FIELDS = (
    "answer", "reply", "response", "completion", "output_text", "output", "text",
    "generated_text", "result", "content", "message",
)  # fmt: skip
_COMPLETION_OBJECTS = frozenset(
    {"chat.completion", "chat.completion.chunk", "text_completion", "response"}
)
_TOKEN_KEYS = ("eval_count", "prompt_eval_count")  # Ollama's top-level counts
_COST_KEYS = ("cost", "total_cost", "price", "cost_usd")
_OUTPUT_TOKEN_KEYS = ("completion_tokens", "output_tokens", "eval_count", "generated_tokens")
_MAX_LINES = 4000
_MAX_DEPTH = 4


@dataclass(frozen=True)
class Reply:
    """What an AI endpoint answered, as far as its shape tells."""

    content: str
    strength: int  # STRONG, WEAK, or 0 when nothing looked like generated text
    model: str | None = None
    usage: Mapping[str, float] = field(default_factory=dict)  # token counts and cost figures
    tool_calls: tuple[str, ...] = ()  # "name(arguments)" of each structured call
    grounding: tuple[str, ...] = ()  # citation / source fields present
    streamed: bool = False

    @property
    def output_tokens(self) -> int | None:
        """The output token count the endpoint reported, if it did."""
        for key in _OUTPUT_TOKEN_KEYS:
            if key in self.usage:
                return int(self.usage[key])
        return None


def parse_reply(response: Response | None, grounding_fields: Iterable[str] = ()) -> Reply | None:
    """The reply in ``response``, or ``None`` when its body holds nothing like generated text."""
    if response is None or not response.body:
        return None
    wanted = frozenset(f.lower() for f in grounding_fields)
    data = response.json
    if isinstance(data, dict | list):
        return _merge([data], wanted, streamed=False)
    chunks = _stream_chunks(response.text)
    if chunks:
        return _merge(chunks, wanted, streamed=True)
    return None


def estimate_tokens(text: str) -> int:
    """A rough token count of ``text``: words and punctuation marks."""
    count, in_word = 0, False
    for char in text:
        if char.isalnum() or char == "_":
            if not in_word:
                count += 1
            in_word = True
        else:
            in_word = False
            if not char.isspace():
                count += 1
    return count


def _stream_chunks(text: str) -> list[Any]:
    """JSON objects of a server-sent-event stream (``data: {…}``) or of JSON lines."""
    chunks: list[Any] = []
    for line in text.splitlines()[:_MAX_LINES]:
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if not line.startswith("{"):
            continue
        try:
            chunks.append(json.loads(line))
        except ValueError:
            continue
    return chunks if len(chunks) > 0 and all(isinstance(c, dict) for c in chunks) else []


def _merge(chunks: list[Any], grounding: frozenset[str], *, streamed: bool) -> Reply | None:
    texts: list[str] = []
    strength = 0
    model: str | None = None
    usage: dict[str, float] = {}
    calls: list[str] = []
    found: list[str] = []
    for chunk in chunks:
        text, chunk_strength = _text_of(chunk)
        if text:
            texts.append(text)
        strength = max(strength, chunk_strength)
        if isinstance(chunk, dict):
            if model is None and isinstance(chunk.get("model"), str) and chunk["model"].strip():
                model = chunk["model"].strip()
            chunk_usage = _usage(chunk)
            if chunk_usage:
                strength = STRONG
                usage.update(chunk_usage)
            calls += _tool_calls(chunk)
        found += [name for name in _fields(chunk, grounding) if name not in found]
    if strength == 0 and not calls:
        return None
    return Reply(
        content="".join(texts) if streamed else "\n".join(texts),
        strength=strength or WEAK,
        model=model,
        usage=usage,
        tool_calls=tuple(calls),
        grounding=tuple(found),
        streamed=streamed,
    )


def _text_of(data: Any) -> tuple[str, int]:
    """The generated text in one JSON value and how sure its shape is."""
    if isinstance(data, list):
        if data and isinstance(data[0], dict) and isinstance(data[0].get("generated_text"), str):
            return data[0]["generated_text"], WEAK
        return "", 0
    if not isinstance(data, dict):
        return "", 0
    choices = data.get("choices")
    if isinstance(choices, list) and choices and all(isinstance(c, dict) for c in choices):
        parts = [_choice_text(c) for c in choices]
        if any(p is not None for p in parts):
            return "".join(p or "" for p in parts), STRONG
    if data.get("type") == "message" and data.get("role") == "assistant":
        return _blocks_text(data.get("content")), STRONG  # Anthropic
    if data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict):
        return str(data["delta"].get("text") or ""), STRONG
    if isinstance(data.get("output"), list):  # OpenAI Responses API
        text = "".join(
            _blocks_text(item.get("content"))
            for item in data["output"]
            if isinstance(item, dict) and item.get("type") == "message"
        )
        if text or data.get("object") == "response":
            return text, STRONG
    if "done" in data and isinstance(data.get("response"), str):  # Ollama generate
        return data["response"], STRONG
    if "done" in data and isinstance(data.get("message"), dict):  # Ollama chat
        return str(data["message"].get("content") or ""), STRONG
    strong = data.get("object") in _COMPLETION_OBJECTS or any(
        k in data for k in ("finish_reason", "stop_reason")
    )
    for key in _TEXT_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value, STRONG if strong else WEAK
        if isinstance(value, dict) and isinstance(value.get("content"), str):
            return value["content"], STRONG if strong else WEAK
    return "", STRONG if strong else 0


def _choice_text(choice: Mapping[str, Any]) -> str | None:
    for key in ("message", "delta"):
        part = choice.get(key)
        if isinstance(part, dict) and ("content" in part or "tool_calls" in part):
            content = part.get("content")
            return content if isinstance(content, str) else _blocks_text(content)
    text = choice.get("text")
    return text if isinstance(text, str) else None


def _blocks_text(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        return ""
    return "".join(
        str(b.get("text") or "")
        for b in blocks
        if isinstance(b, dict) and b.get("type") in ("text", "output_text")
    )


def _usage(data: Mapping[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    usage = data.get("usage") or data.get("usage_metadata")
    if isinstance(usage, dict):
        for key, value in usage.items():
            if _number(value) and ("token" in key or key in _COST_KEYS):
                found[str(key)] = float(value)
    for key in _TOKEN_KEYS:
        if _number(data.get(key)):
            found[key] = float(data[key])
    return found


def _tool_calls(data: Mapping[str, Any]) -> list[str]:
    calls: list[str] = []
    messages = [c.get("message") or c.get("delta") for c in data.get("choices") or []]
    for message in messages:
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                calls.append(f"{function.get('name')}({function.get('arguments')})")
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            calls.append(f"{legacy.get('name')}({legacy.get('arguments')})")
    for block in [*(_as_list(data.get("content"))), *(_as_list(data.get("output")))]:
        if isinstance(block, dict) and block.get("type") in ("tool_use", "function_call"):
            arguments = block.get("input", block.get("arguments"))
            calls.append(f"{block.get('name')}({json.dumps(arguments)})")
    return calls


def _fields(data: Any, wanted: frozenset[str], depth: int = 0) -> list[str]:
    """Names of ``wanted`` fields anywhere in ``data`` (a few levels deep)."""
    if depth > _MAX_DEPTH or not wanted:
        return []
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in list(data.items())[:200]:
            if str(key).lower() in wanted:
                found.append(str(key))
            found += _fields(value, wanted, depth + 1)
    elif isinstance(data, list):
        for item in data[:20]:
            found += _fields(item, wanted, depth + 1)
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
