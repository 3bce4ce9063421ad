"""Writes that active checks send: JSON bodies, fresh read-backs, and one change undone.

Every write goes through the scan's journal (``http.journal``), which reads the object first and
undoes the write after the check. ``Change`` writes, reads back, and asks the journal to undo at
once, keeping every exchange for the evidence. Read-backs carry a ``Cache-Control: no-cache``
spelling of their own and are always sent on the wire: the scan's cache of identical GETs never
answers them, even when one check reads the same object back twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from middlebrick.checks._properties import plain
from middlebrick.checks.context import CheckContext
from middlebrick.http import json_records
from middlebrick.http.exchange import Exchange, Request
from middlebrick.http.undo import Restoration
from middlebrick.spec.model import Operation

__all__ = ["Change", "fresh", "json_media", "json_write", "read_twin", "record_of"]

_NO_CACHE = ("no-cache", "no-cache, max-age=0", "max-age=0, no-cache", "no-cache, no-store")


def record_of(exchange: Exchange | None) -> dict[str, Any] | None:
    """The object a 2xx JSON answer is about, DynamoDB AttributeValues unwrapped."""
    return json_records.record_of(exchange, plain)


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
    return get.with_header("Cache-Control", _NO_CACHE[step % len(_NO_CACHE)]).sent_fresh()


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
    """One change to one object, undone by the journal, with every exchange kept."""

    read: Request  # the GET of the object, as the acting identity
    media: str
    original: dict[str, Any]  # field -> value before
    wanted: dict[str, Any]  # field -> value written
    exchanges: list[tuple[str, Exchange]] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # fields whose written value was read back
    restoration: Restoration | None = None  # what the journal did about it

    async def apply(self, ctx: CheckContext) -> bool:
        """Write, read back, and have the journal undo it; False when the write was refused."""
        write = await ctx.send(json_write(self.read, "PATCH", self.wanted, self.media))
        self.exchanges.append(("write", write))
        if write.ok:
            after_exchange = await ctx.send(fresh(self.read, 1))
            self.exchanges.append(("read back", after_exchange))
            after = record_of(after_exchange)
            self.stuck = [
                key
                for key, value in self.wanted.items()
                if after is not None and after.get(key) == value and self.original.get(key) != value
            ]
        for done in await ctx.undo():
            if done.url == self.read.url:
                self.restoration = done
                self.exchanges += list(done.exchanges)
        return write.ok

    @property
    def restored(self) -> bool | None:
        """True when the journal restored the object, False when it could not, None when
        nothing needed restoring."""
        state = self.restoration.state if self.restoration is not None else "unchanged"
        return None if state == "unchanged" else state in ("restored", "deleted")

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
