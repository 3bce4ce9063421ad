"""Writes that active checks send and undo: JSON bodies, fresh read-backs, restoring values.

An active check that changes an object reads it first (the values to restore), writes, reads
it back, writes the original values back and reads once more; ``Change`` runs that sequence
and keeps every exchange for the evidence. Read-backs carry a ``Cache-Control: no-cache``
spelling of their own so the scan's cache of identical GETs never answers them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from middlebrick.checks._properties import plain
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation

_NO_CACHE = ("no-cache", "no-cache, max-age=0", "max-age=0, no-cache", "no-cache, no-store")


def record_of(exchange: Exchange | None) -> dict[str, Any] | None:
    """The object a 2xx JSON answer is about: itself, or the one object it wraps (``Item``)."""
    if exchange is None or exchange.response is None or not exchange.ok:
        return None
    value = plain(exchange.response.json)
    if not isinstance(value, dict):
        return None
    if len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, dict):
            return inner
    return value


def read_twin(ctx: CheckContext, write: Operation) -> tuple[Operation, Exchange] | None:
    """The GET operation on the write's own path, when its baseline answered with an object."""
    for operation, exchange in ctx.baseline.successful():
        same = operation.method == "GET" and operation.path == write.path
        if same and record_of(exchange) is not None:
            return operation, exchange
    return None


def fresh(request: Request, step: int) -> Request:
    """``request`` as a GET that the scan's cache cannot answer (one spelling per step)."""
    get = Request("GET", request.url, headers=request.headers, identity=request.identity)
    return get.with_header("Cache-Control", _NO_CACHE[step % len(_NO_CACHE)])


def json_write(read: Request, method: str, body: Mapping[str, Any], media: str) -> Request:
    """A ``method`` request to the URL of ``read`` (same identity) carrying ``body`` as JSON."""
    headers = read.headers.remove("Cache-Control").set("Content-Type", media)
    data = json.dumps(dict(body)).encode()
    return Request(method, read.url, headers=headers, body=data, identity=read.identity)


def json_media(operation: Operation) -> str:
    """The operation's JSON request media type (``application/json`` when it declares none)."""
    body = operation.request_body
    if body is not None and "json" in body.content_type:
        return body.content_type
    return "application/json"


@dataclass
class Change:
    """One change to one object and its undoing, with every exchange kept."""

    read: Request  # the GET of the object, as the acting identity
    media: str
    original: dict[str, Any]  # field -> value before
    wanted: dict[str, Any]  # field -> value written
    exchanges: list[tuple[str, Exchange]] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # fields whose written value was read back
    restored: bool | None = None  # None: nothing needed restoring

    async def apply(self, ctx: CheckContext) -> bool:
        """Write, read back, and restore what changed; False when the write was refused."""
        write = await ctx.send(json_write(self.read, "PATCH", self.wanted, self.media))
        self.exchanges.append(("write", write))
        if not write.ok:
            return False
        after_exchange = await ctx.send(fresh(self.read, 1))
        self.exchanges.append(("read back", after_exchange))
        after = record_of(after_exchange)
        self.stuck = [
            key
            for key, value in self.wanted.items()
            if after is not None and after.get(key) == value and self.original.get(key) != value
        ]
        if after is not None and all(after.get(k) == v for k, v in self.original.items()):
            return True  # nothing changed: nothing to restore
        await self._restore(ctx)
        return True

    async def _restore(self, ctx: CheckContext) -> None:
        undo = await ctx.send(json_write(self.read, "PATCH", self.original, self.media))
        self.exchanges.append(("restore", undo))
        check = await ctx.send(fresh(self.read, 2))
        self.exchanges.append(("read after restore", check))
        now = record_of(check)
        self.restored = (
            undo.ok and now is not None and all(now.get(k) == v for k, v in self.original.items())
        )

    def restore_sentence(self) -> str:
        """What happened to the original values, for the finding's detail."""
        values = ", ".join(f"{k}={json.dumps(v)}" for k, v in self.original.items())
        if self.restored is None:
            return f"nothing needed restoring ({values} unchanged)"
        if self.restored:
            return f"the original values were written back and read again ({values})"
        return (
            f"restoring the original values ({values}) could NOT be confirmed: set them back "
            f"by hand on {self.read.url}"
        )
