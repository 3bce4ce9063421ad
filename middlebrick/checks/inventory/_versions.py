"""Older versions of a versioned base URL: ``/api/v1/…`` still answering beside ``/api/v2/…``.

::

    for older in await older_bases(ctx):  # at most 11 requests
        older.base, older.answers  # "/api/v1", [(operation, newer exchange, older exchange)]

When the API's base URL carries the version (``servers: [{url: /api/v2}]``, the usual Django
REST framework, FastAPI ``root_path`` and gateway layout), its paths have none, so no operation
of the surface shows the older version. For the first four GET operations whose baseline
answered 2xx JSON with content, the same request is sent with the base's version segment set
to the two versions below it (``v2`` -> ``v1``; ``v3`` -> ``v2``, ``v1``), and once with that
segment replaced by one that cannot exist: the control, which a catch-all answers like any
other path. An older version counts when it answers 2xx JSON that is not a denial, of the same
shape as the current version's answer (most keys shared), and unlike the control (refused, or
another body of another shape).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from middlebrick.checks._compare import is_empty_json, looks_like_denial, same_shape
from middlebrick.checks.context import CheckContext
from middlebrick.discovery.undocumented import control_token
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

__all__ = ["OlderBase", "older_bases", "same_kind"]

MAX_OPERATIONS = 4
MAX_OLDER = 2
MAX_REQUESTS = MAX_OPERATIONS * MAX_OLDER + 1 + 2  # the control, and two spare for retries

_VERSION = re.compile(r"^[vV](\d{1,2})(?:\.\d{1,2})?$")


@dataclass(frozen=True)
class OlderBase:
    """An older version of the base URL that answers like the current one."""

    base: str  # the older base URL's path, e.g. "/api/v1"
    current: str  # the current one's, e.g. "/api/v2"
    answers: tuple[tuple[Operation, Exchange, Exchange], ...]  # (operation, current, older)
    control: Exchange


async def older_bases(ctx: CheckContext) -> list[OlderBase]:
    """The older versions of ``ctx``'s base URL that answer its operations like it does."""
    parts = urlsplit(ctx.base_url)
    segments = parts.path.rstrip("/").split("/")
    index = next((i for i, s in enumerate(segments) if _VERSION.match(s)), None)
    if index is None:
        return []
    match = _VERSION.match(segments[index])
    assert match is not None
    number = int(match.group(1))
    olders = [n for n in range(number - 1, number - 1 - MAX_OLDER, -1) if n >= 1]
    chosen = _answering(ctx)
    if not olders or not chosen:
        return []
    base = ctx.base_url.rstrip("/")

    def moved(exchange: Exchange, segment: str) -> str:
        path = "/".join([*segments[:index], segment, *segments[index + 1 :]])
        rebased = f"{parts.scheme}://{parts.netloc}{path}"
        return rebased + exchange.request.url[len(base) :]

    token = control_token(ctx.base_url)
    first = chosen[0][1]
    sends = [replace(first.request, url=moved(first, token))]
    sends += [replace(ex.request, url=moved(ex, f"v{n}")) for n in olders for _, ex in chosen]
    answers = await asyncio.gather(*(ctx.send(request) for request in sends))
    control, rest = answers[0], answers[1:]
    found: list[OlderBase] = []
    for position, older in enumerate(olders):
        hits = [
            (op, current, answer)
            for (op, current), answer in zip(
                chosen, rest[position * len(chosen) : (position + 1) * len(chosen)], strict=True
            )
            if same_kind(answer, current) and _unlike_control(answer, control)
        ]
        if hits:
            older_path = "/".join([*segments[:index], f"v{older}", *segments[index + 1 :]])
            found.append(OlderBase(older_path, parts.path.rstrip("/"), tuple(hits), control))
    return found


def same_kind(older: Exchange, current: Exchange) -> bool:
    """A 2xx JSON answer with content, not a denial, shaped like ``current``'s JSON answer."""
    ours, theirs = older.response, current.response
    if ours is None or theirs is None or not ours.ok or not ours.is_json or not theirs.is_json:
        return False
    if looks_like_denial(ours) or is_empty_json(ours.json):
        return False
    return same_shape(theirs.json, ours.json)


def _answering(ctx: CheckContext) -> list[tuple[Operation, Exchange]]:
    """Up to four GET operations whose baseline answered 2xx JSON with content below the base."""
    base = ctx.base_url.rstrip("/")
    chosen: list[tuple[Operation, Exchange]] = []
    for operation, exchange in ctx.baseline.items():
        resp = exchange.response
        if operation.method != "GET" or not exchange.request.url.startswith(base + "/"):
            continue
        if resp is None or not resp.ok or not resp.is_json or is_empty_json(resp.json):
            continue
        if looks_like_denial(resp):
            continue
        chosen.append((operation, exchange))
        if len(chosen) >= MAX_OPERATIONS:
            break
    return chosen


def _unlike_control(answer: Exchange, control: Exchange) -> bool:
    ours, theirs = answer.response, control.response
    if ours is None or theirs is None:
        return False
    if not theirs.ok:
        return True
    if ours.body == theirs.body:
        return False
    return not (theirs.is_json and same_shape(theirs.json, ours.json, threshold=0.8))
