"""Finding AI endpoints: from the surface's request schemas and paths, else by usual paths.

A candidate is confirmed by one harmless message (``HARMLESS``), a POST sent only where the
scan may write (active mode, or an operation named with ``--include``), whose answer must have
the shape of generated text (``_reply``). Without an operation that looks like an AI
endpoint, the usual paths of the probe pack are requested with GET next to a path that cannot
exist (the control): a strong path (``/v1/chat/completions``) whose answer differs from the
control's and says the route exists (405 allowing POST, 400/401/403/422), or a weak path
(``/chat``) whose answer also speaks of prompts or messages, becomes a candidate. A candidate
the scan may not POST to is returned unconfirmed, for passive reporting. Collections (a GET
lists the same path, or a DELETE removes its objects) are not candidates unless their path is a
usual AI path: a free-text field makes a note or a comment, not a chat.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from middlebrick.baseline import build_request
from middlebrick.checks.context import CheckContext
from middlebrick.checks.llm_security._reply import STRONG, WEAK, Reply, parse_reply
from middlebrick.checks.llm_security._request import (
    HARMLESS,
    ChatFormat,
    format_for_operation,
    format_for_path,
)
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.knowledge.llm_models import LlmPath, LlmProbePack
from middlebrick.spec.model import Operation

CONTROL_PATH = "/v1/chat/middlebrick-no-such-route"
"""A path no API serves, requested beside the usual AI paths to tell a route from a catch-all."""

EXTRA_TRIES = 2
"""Candidates tried beyond the number of endpoints wanted, before giving up."""

_AI_WORDS = frozenset(
    {"chat", "chatbot", "completion", "completions", "generate", "ask", "assistant", "llm",
     "ai", "gpt", "prompt", "copilot", "bot", "conversation", "conversations", "inference"}
)  # fmt: skip
_LLM_WORDS = re.compile(r"\b(?:messages|prompt|completions?|max_tokens|temperature|model)\b", re.I)
_RESPONSE_FIELDS = {"choices": 2, "usage": 2, "completion": 1, "answer": 1, "reply": 1,
                    "generated_text": 1, "model": 1}  # fmt: skip
_EXISTS = frozenset({400, 401, 403, 405, 422})


@dataclass(frozen=True)
class Endpoint:
    """A confirmed AI endpoint: where it is, how to talk to it, and how it was found."""

    operation: str  # "POST /v1/chat/completions"
    url: str
    format: ChatFormat
    exchange: Exchange  # the harmless message and its answer
    reply: Reply
    how: str  # a sentence: what made it a candidate
    hint: Exchange | None = None  # the GET that pointed at it, when found by path
    headers: Headers = field(default_factory=Headers)  # required header parameters

    def request(self, text: str, max_tokens: int | None) -> Request:
        """A POST of ``text`` to this endpoint in its format."""
        return self.format.request(self.url, text, max_tokens, headers=self.headers)


@dataclass(frozen=True)
class Candidate:
    """An operation that looks like an AI endpoint, and why; confirmed only by a POST."""

    operation: str
    url: str
    formats: tuple[ChatFormat, ...]
    accepts_weak: bool
    how: str
    hint: Exchange | None = None
    headers: Headers = field(default_factory=Headers)


async def find_endpoints(
    ctx: CheckContext, pack: LlmProbePack
) -> tuple[list[Endpoint], list[Candidate]]:
    """The AI endpoints of the target (at most ``pack.limits.max_endpoints``), and the
    candidates the scan may not send a message to (safe mode), unconfirmed."""
    wanted = pack.limits.max_endpoints
    candidates = surface_candidates(ctx, pack)
    found = await _confirm(ctx, _sendable(ctx, candidates), wanted, pack)
    if found:
        return found, []
    tried = {c.url for c in candidates}
    by_path = await _path_candidates(ctx, pack, tried)
    found = await _confirm(ctx, _sendable(ctx, by_path), wanted, pack)
    if found:
        return found, []
    unsent = [c for c in [*candidates, *by_path] if not ctx.may_send("POST", c.url)]
    return [], unsent[:wanted]


def _sendable(ctx: CheckContext, candidates: list[Candidate]) -> list[Candidate]:
    if ctx.scan.mode == "active":
        for candidate in candidates:
            ctx.converses(candidate.url)
    return [c for c in candidates if ctx.may_send("POST", c.url)]


def surface_candidates(ctx: CheckContext, pack: LlmProbePack) -> list[Candidate]:
    """POST operations whose request schema, response schema and path look like an AI endpoint."""
    scored: list[tuple[int, Candidate]] = []
    for op in ctx.surface.operations:
        if op.method != "POST":
            continue
        fmt, score = format_for_operation(op)
        path_score, path = _path_score(op.path, pack.paths)
        if _collection(op, ctx.surface.operations) and not (path is not None and path.strong):
            continue
        score += path_score + _response_score(op.success_schema())
        if fmt is None:
            if op.request_body is not None or path_score < 2 or path is None:
                continue
            formats = _fallbacks(format_for_path(path.body))
            how = f"its path `{op.path}` is a usual AI endpoint path"
        elif score >= 3:
            formats = (fmt,)
            how = f"its request schema carries `{fmt.text_field}`" + (
                f" beside `{fmt.max_tokens_field}`" if fmt.max_tokens_field else ""
            )
        else:
            continue
        base = build_request(op, ctx.base_url)
        scored.append((score, Candidate(op.key, base.url, formats, True, how, None, base.headers)))
    scored.sort(key=lambda pair: -pair[0])
    return [candidate for _, candidate in scored]


async def _path_candidates(
    ctx: CheckContext, pack: LlmProbePack, tried: set[str]
) -> list[Candidate]:
    paths = [p for p in pack.paths if ctx.url(p.path) not in tried]
    if not paths:
        return []
    control, *answers = await asyncio.gather(
        ctx.send(ctx.get(CONTROL_PATH)), *(ctx.send(ctx.get(p.path)) for p in paths)
    )
    candidates = []
    for path, exchange in zip(paths, answers, strict=True):
        reason = _route_exists(path, exchange, control)
        if reason is not None:
            candidates.append(
                Candidate(
                    f"POST {path.path}",
                    ctx.url(path.path),
                    _fallbacks(format_for_path(path.body)),
                    path.strong,
                    reason,
                    exchange,
                )
            )
    candidates.sort(key=lambda c: not c.accepts_weak)  # strong paths first
    return candidates


def _route_exists(path: LlmPath, exchange: Exchange, control: Exchange) -> str | None:
    """Why a GET answer says an AI route lives at ``path`` (``None`` when it does not)."""
    resp = exchange.response
    if resp is None or resp.redirects or resp.status == 404 or resp.status >= 500:
        return None
    base = control.response
    if base is not None and base.status == resp.status and base.body == resp.body:
        return None  # the same answer as a path that cannot exist: a catch-all
    allow = resp.headers.get("allow")
    if resp.status == 405 and allow is not None and "POST" not in allow.upper():
        return None
    speaks_llm = bool(_LLM_WORDS.search(resp.text[:4096]))
    reply = parse_reply(resp) if resp.ok else None
    if reply is not None and reply.strength == STRONG:
        return f"GET `{path.path}` answered {resp.status} with the shape of a model answer"
    if path.strong and resp.status in _EXISTS:
        allowed = f" (Allow: {allow})" if allow else ""
        return (
            f"GET `{path.path}`, a usual AI endpoint path, answered {resp.status}{allowed} "
            f"where a path that cannot exist answered {base.status if base else 'nothing'}"
        )
    if speaks_llm and resp.status in (*_EXISTS, 200):
        return f"GET `{path.path}` answered {resp.status} speaking of prompts or messages"
    return None


async def _confirm(
    ctx: CheckContext, candidates: list[Candidate], wanted: int, pack: LlmProbePack
) -> list[Endpoint]:
    found: list[Endpoint] = []
    grounding = pack.markers.grounding_fields
    for candidate in candidates[: wanted + EXTRA_TRIES]:
        for fmt in candidate.formats:
            request = fmt.request(
                candidate.url, HARMLESS, pack.limits.max_tokens, headers=candidate.headers
            )
            exchange = await ctx.send(request)
            resp = exchange.response
            if resp is None:
                break
            if resp.ok:
                reply = parse_reply(resp, grounding)
                weak_ok = candidate.accepts_weak and reply is not None and reply.strength == WEAK
                if (
                    reply is not None
                    and reply.content.strip()
                    and (reply.strength == STRONG or weak_ok)
                ):
                    found.append(
                        Endpoint(
                            candidate.operation,
                            candidate.url,
                            fmt,
                            exchange,
                            reply,
                            candidate.how,
                            candidate.hint,
                            candidate.headers,
                        )
                    )
                break
            if resp.status not in (400, 422):
                break  # only a format error is worth a second format
        if len(found) >= wanted:
            break
    return found


def _collection(op: Operation, operations: tuple[Operation, ...]) -> bool:
    """True when ``op`` adds to a collection: a GET lists its path, or a DELETE removes one of
    its objects (``/notes`` beside ``DELETE /notes/{id}``)."""
    prefix = op.path.rstrip("/") + "/{"
    return any(
        (other.method == "GET" and other.path == op.path)
        or (other.method == "DELETE" and other.path.startswith(prefix))
        for other in operations
    )


def _fallbacks(first: ChatFormat) -> tuple[ChatFormat, ...]:
    """A format and the other usual one, for a second try after a 400/422."""
    if first.style == "messages":
        return first, ChatFormat("text", "prompt")
    return first, ChatFormat("messages", "messages")


def _path_score(path: str, known: tuple[LlmPath, ...]) -> tuple[int, LlmPath | None]:
    """2 for a strong usual path, 1 for a weak one or an AI word in a segment, else 0."""
    for entry in known:
        if path == entry.path or path.endswith(entry.path):
            return (2 if entry.strong else 1), entry
    segments = {s.lower() for s in path.split("/") if s and not s.startswith("{")}
    return (1 if segments & _AI_WORDS else 0), None


def _response_score(schema: Any) -> int:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return 0
    return min(2, sum(_RESPONSE_FIELDS.get(name, 0) for name in schema["properties"]))
