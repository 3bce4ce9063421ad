"""Building the requests sent to an AI endpoint: its body format, rendered probes, canaries.

A ``ChatFormat`` says where the text goes (an OpenAI-style ``messages`` list or a single text
field such as ``prompt``), which field caps the output (``max_tokens``…), and which other
required fields the API description asks for. Probe templates are rendered with a canary made
for the probe (deterministic, so that every scan sends the same requests) and an encoded
payload.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from middlebrick.http.exchange import Headers, Request
from middlebrick.knowledge.llm_models import LlmProbe
from middlebrick.spec.model import Operation
from middlebrick.spec.values import is_plain, value_for_schema

Style = Literal["messages", "text"]

_TEXT_FIELDS = ("prompt", "input", "question", "query", "message", "text", "content", "inputs")
_MAX_TOKEN_FIELDS = (
    "max_tokens", "max_completion_tokens", "max_output_tokens", "max_new_tokens",
    "num_predict", "maxTokens", "max_length",
)  # fmt: skip
_LLM_FIELDS = frozenset(
    {"model", "temperature", "top_p", "top_k", "stop", "stream", "system", "n", "seed"}
)
_HOMOGLYPHS = str.maketrans(
    "aceiopxyABCEHIKMOPTX", "асеіорхуАВСЕНІКМОРТХ"
)  # Latin letters -> look-alike Cyrillic ones
_HEADERS = Headers.of({"Content-Type": "application/json", "Accept": "application/json"})
HARMLESS = "Hello! In one short sentence, what can you help me with?"
"""The detection message: harmless, and answered by any chat model."""


@dataclass(frozen=True)
class ChatFormat:
    """How a text is put in a request body for one endpoint."""

    style: Style
    text_field: str  # "messages", or the text field ("prompt", "question", …)
    max_tokens_field: str | None = "max_tokens"
    extra: Mapping[str, Any] = field(default_factory=dict)  # other required fields

    def body(self, text: str, max_tokens: int | None) -> bytes:
        """The JSON body carrying ``text`` (and the output cap, when the format has one)."""
        payload: dict[str, Any] = dict(self.extra)
        if self.style == "messages":
            payload[self.text_field] = [{"role": "user", "content": text}]
        else:
            payload[self.text_field] = text
        if self.max_tokens_field and max_tokens is not None:
            payload[self.max_tokens_field] = max_tokens
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def request(
        self, url: str, text: str, max_tokens: int | None, *, headers: Headers | None = None
    ) -> Request:
        """A POST of ``text`` to ``url`` as the scan's default identity, with ``headers``."""
        sent = _HEADERS
        for name, value in headers or ():
            if name.lower() not in ("content-type", "accept"):
                sent = sent.set(name, value)
        return Request("POST", url, headers=sent, body=self.body(text, max_tokens))

    @property
    def sent_model(self) -> str | None:
        """The model name this format sends, when the description requires one."""
        value = self.extra.get("model")
        return value if isinstance(value, str) else None


def format_for_path(body: str) -> ChatFormat:
    """The usual format of a well-known AI path (``paths[].body`` of the probe pack)."""
    if body == "messages":
        return ChatFormat("messages", "messages")
    return ChatFormat("text", body, "max_tokens" if body in ("prompt", "input") else None)


def format_for_operation(operation: Operation) -> tuple[ChatFormat | None, int]:
    """The format an operation's JSON request schema describes, and how LLM-like it looks.

    The score is 3 for a ``messages`` list of role/content objects, 1 for a text field such as
    ``prompt``; fields like ``model``, ``temperature`` or ``max_tokens`` add 1 to a message list
    and 2 to a text field. ``None`` when the schema has nowhere to put the text.
    """
    body = operation.request_body
    if body is None or "json" not in body.content_type:
        return None, 0
    properties, required = _properties(body.schema)
    if not properties:
        return None, 0
    names = set(properties)
    cap = next((n for n in _MAX_TOKEN_FIELDS if n in names), None)
    llm_fields = bool(names & _LLM_FIELDS) or cap is not None
    if "messages" in names and _is_message_list(properties["messages"]):
        style: Style = "messages"
        text_field = "messages"
        score = 3 + int(llm_fields)
    else:
        found = next((n for n in _TEXT_FIELDS if n in names and _is_text(properties[n])), None)
        if found is None:
            return None, 0
        style, text_field = "text", found
        score = 3 if llm_fields else 1
    extra: dict[str, Any] = {}
    for name in sorted(required):
        if name in (text_field, cap) or name not in properties:
            continue
        value = value_for_schema(properties[name], name=name)
        if value is not None and is_plain(value):
            extra[name] = value
    return ChatFormat(style, text_field, cap, extra), score


def canary_for(probe_id: str) -> str:
    """The marker string of one probe: ``MBX-`` and six letters/digits derived from its id."""
    digest = hashlib.sha256(f"middlebrick-llm/{probe_id}".encode()).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "MBX-" + "".join(alphabet[b % len(alphabet)] for b in digest[:6])


def render(probe: LlmProbe, canary: str) -> str:
    """The message a probe sends: its template with the canary and the encoded payload."""
    message = probe.message.replace("{canary}", canary)
    if probe.payload is None:
        return message
    return message.replace("{payload}", encode(probe.payload, probe.encoding, canary))


def encode(template: str, encoding: str | None, canary: str) -> str:
    """A payload template rendered and encoded; homoglyphs spare the canary itself."""
    if encoding == "homoglyph":
        return canary.join(part.translate(_HOMOGLYPHS) for part in template.split("{canary}"))
    text = template.replace("{canary}", canary)
    if encoding == "base64":
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    if encoding == "rot13":
        return codecs.encode(text, "rot13")
    return text


def _properties(schema: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema, ``allOf`` parts merged."""
    properties: dict[str, Any] = {}
    required: set[str] = set()
    for part in [schema, *(schema.get("allOf") or [])][:8]:
        if not isinstance(part, Mapping):
            continue
        if isinstance(part.get("properties"), Mapping):
            properties.update(part["properties"])
        if isinstance(part.get("required"), list):
            required.update(str(name) for name in part["required"])
    return properties, required


def _is_message_list(schema: Any) -> bool:
    if not isinstance(schema, Mapping) or schema.get("type") not in (None, "array"):
        return False
    items = schema.get("items")
    if not isinstance(items, Mapping):
        return schema.get("type") == "array"
    names, _ = _properties(items)
    return not names or "content" in names or "role" in names


def _is_text(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    kinds = [schema.get("type"), *(s.get("type") for s in schema.get("anyOf") or [] if s)]
    return "string" in kinds or all(kind is None for kind in kinds)
