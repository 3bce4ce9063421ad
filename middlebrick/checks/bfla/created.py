"""BFLA from behaviour, active: who may create in a collection, and who may change or delete there.

Privilege is what an identity is let do, never what its role is called. For each collection the
scan may create in (``_created.resources``: a JSON ``POST`` with a documented ``GET`` and
``DELETE`` by id), the same creation is sent as each identity until one is allowed and another
refused (401/403); the refused one is then the less privileged for that resource. It tries the
privileged functions — ``PUT``/``PATCH`` with a marker in one ordinary field, ``DELETE`` — on an
object the privileged identity has just created, and the creator reads the result back.

Only shared objects are judged here (anyone reads them, or the less privileged identity's own
listing shows them: a catalogue entry, an article): there, changing or deleting is a function
the API grants by role, so an accepted, effective write is function-level. A private object
changed by another identity is BOLA, which ``bola.created`` reports. Every object written is one
the scan created; the journal deletes whatever is left.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from middlebrick.checks._created import (
    Created,
    Resource,
    answer_of,
    attempt,
    body_for,
    create,
    ordinary_field,
    path_of,
    resources,
)
from middlebrick.checks._owners import read_same, readable
from middlebrick.checks._sharing import listed_to
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation

_METHOD = "bfla.privileged-method-allowed"
_REFUSED = frozenset({401, 403})
_GONE = frozenset({404, 410})
_MAX_TRIED = 4  # identities whose creation is tried, the primary first


@dataclass(frozen=True)
class _Actor:
    """An identity of the scan: its name, and ``None`` for the primary (the default headers)."""

    name: str
    identity: Identity | None

    def send_as(self, request: Request) -> Request:
        return request if self.identity is None else request.as_identity(self.identity.name)


@dataclass(frozen=True)
class _Split:
    """One identity allowed to create, one refused, and the refused creation."""

    allowed: _Actor
    refused: _Actor
    refusal: Exchange
    created: Created  # the allowed identity's object, made right after the refusal


@check(category="bfla", emits={_METHOD}, mode="active", per_operation=7)
async def privileged_functions(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Changes and deletions by an identity the API refuses to let create there.

    Active mode and two identities. For each collection whose ``POST`` takes a JSON body and
    whose objects have a documented ``GET`` and ``DELETE`` by id, the same creation body (from
    the request schema) is sent as the primary identity and then as the others (at most four
    identities), each object made deleted at once by its creator, until one identity is
    allowed (2xx) and another refused (401 or 403). The allowed identity's creation is then
    sent again right after the refusal, the fresh control, and the other identity, as the less
    privileged one:

    1. reads the new object (GET), which must answer the same object (its credential works);
       the object must be shared — read without credentials too, or shown in that identity's
       own listing of the collection — else it is private and left to BOLA;
    2. when documented, changes one ordinary string field (never a role, flag, owner, id or
       personal field) to a marker with ``PATCH``, and with ``PUT`` (the object's other
       declared fields as they are), and the creator reads the object back;
    3. deletes it (DELETE), and the creator reads it back.

    At most about 20 requests per collection. Confirmed, high, for each write the less
    privileged identity got through: the marker read back, or the object gone, for the
    creator. No finding when every identity may create (the function is not privileged), when
    no identity may, or when the object is private.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    actors = [_Actor(primary.name, None)]
    actors += [_Actor(other.name, other) for other in ctx.identities.others]
    async for resource in ctx.each(resources(ctx)):
        split = await _who_creates(ctx, resource, actors[:_MAX_TRIED])
        if split is None:
            continue
        async for finding in _probe(ctx, resource, split):
            yield finding


async def _who_creates(
    ctx: CheckContext, resource: Resource, actors: list[_Actor]
) -> _Split | None:
    """The first identity allowed and the first refused to create, with a fresh control.

    Each object an allowed identity makes is deleted at once by it, so the same body can be
    sent again; the allowed identity's control creation comes after the refusal."""
    if not ctx.may_send("POST", ctx.url(resource.create.path)):
        return None
    body = body_for(resource)
    if body is None:
        return None
    allowed: _Actor | None = None
    refused: tuple[_Actor, Exchange] | None = None
    for actor in actors:
        made, item = await attempt(ctx, resource, body, actor.identity)
        if made.response is not None and made.response.status in _REFUSED:
            if allowed is not None:
                return await _control(ctx, resource, allowed, actor, made)
            refused = refused or (actor, made)
            continue
        if item is None:
            return None  # neither refused nor an object the scan holds: nothing to learn
        gone = await ctx.send(actor.send_as(Request("DELETE", item)))
        if not gone.ok:
            return None  # the same body again would meet the object left behind
        if refused is not None:
            return await _control(ctx, resource, actor, *refused)
        allowed = allowed or actor
    return None


async def _control(
    ctx: CheckContext, resource: Resource, allowed: _Actor, refused: _Actor, refusal: Exchange
) -> _Split | None:
    """The allowed identity creates again, after the refusal: the object to probe."""
    created = await create(ctx, resource, who=allowed.identity)
    return None if created is None else _Split(allowed, refused, refusal, created)


async def _probe(ctx: CheckContext, resource: Resource, split: _Split) -> AsyncIterator[Finding]:
    created, low, high = split.created, split.refused, split.allowed
    read = Request("GET", created.url)
    theirs = await ctx.send(low.send_as(fresh(read, 1)))
    if not read_same(created.mine, theirs):
        return  # the credential is not shown to work, or the object is not theirs to see
    anonymous = await ctx.send(fresh(read, 2).without_credentials())
    listing = None
    if not readable(anonymous):
        listing = await listed_to(ctx, low.identity, resource.read, created.url)
        if listing is None:
            return  # private: another identity's write there is BOLA (bola.created)
    shared = (
        "anyone reads it without credentials"
        if listing is None
        else f"the collection as listed to {low.name!r} shows it"
    )
    base = [
        (f"create as {low.name}: refused", split.refusal),
        (f"create as {high.name}, after the refusal", created.made),
        (f"read as {high.name}", created.mine),
        (f"read as {low.name}", theirs),
        ("anonymous" if listing is None else f"listing as {low.name}", listing or anonymous),
    ]
    said = (
        f"identity {low.name!r} may not create in `{path_of(ctx.url(resource.create.path))}` "
        f"(`POST` answered {answer_of(split.refusal)}, while the same POST as {high.name!r}, sent "
        f"after it, answered {answer_of(created.made)}), and the object {high.name!r} created is "
        f"shared ({shared})"
    )
    for write in (resource.write, resource.replace):
        if write is not None:
            finding = await _try_write(ctx, write, split, said, base)
            if finding is not None:
                yield finding
    gone = await ctx.send(low.send_as(Request("DELETE", created.url)))
    after = await ctx.send(high.send_as(fresh(read, 3)))
    if gone.ok and after.response is not None and after.response.status in _GONE:
        yield ctx.finding(
            _METHOD,
            resource.delete,
            detail=f"{said}; yet as {low.name!r}, `DELETE {path_of(created.url)}` answered "
            f"{answer_of(gone)}, and read as {high.name!r} afterwards it answers "
            f"{answer_of(after)}",
            evidence=[
                *base,
                (f"delete as {low.name}", gone),
                (f"read as {high.name}", after),
            ],
            confidence=Confidence.confirmed,
        )


async def _try_write(
    ctx: CheckContext,
    write: Operation,
    split: _Split,
    said: str,
    base: list[tuple[str, Exchange]],
) -> Finding | None:
    """One marker written as the less privileged identity; the finding when the creator reads it."""
    created, low, high = split.created, split.refused, split.allowed
    field = ordinary_field(write, created.record)
    body = _write_body(write, created, field) if field is not None else None
    if field is None or body is None:
        return None
    marker = body[field]
    headers = Headers.of({"Content-Type": json_media(write)})
    request = Request(write.method, created.url, headers, json.dumps(body).encode())
    sent = await ctx.send(low.send_as(request))
    back = await ctx.send(high.send_as(fresh(Request("GET", created.url), 4)))
    after = record_of(back)
    if not sent.ok or after is None or after.get(field) != marker:
        return None
    return ctx.finding(
        _METHOD,
        write,
        detail=f"{said}; yet as {low.name!r}, `{write.method} {path_of(created.url)}` setting "
        f"`{field}` answered {answer_of(sent)}, and read as {high.name!r} it now holds the marker "
        f"{marker!r}",
        evidence=[
            *base,
            (f"{write.method} as {low.name}", sent),
            (f"read back as {high.name}", back),
        ],
        confidence=Confidence.confirmed,
    )


def _write_body(write: Operation, created: Created, field: str) -> dict[str, Any] | None:
    """The marker in ``field``; for ``PUT`` also every other declared field as it stands."""
    marker = "mb-" + hashlib.sha256(f"{write.method} {created.url}".encode()).hexdigest()[:8]
    if write.method != "PUT":
        return {field: marker}
    schema = write.request_body.schema if write.request_body is not None else {}
    body: dict[str, Any] = {}
    for name in schema.get("properties") or {}:
        if name in created.record:
            body[name] = created.record[name]
        elif name in created.body:
            body[name] = created.body[name]
    missing = [name for name in schema.get("required") or [] if name not in body]
    return None if missing else {**body, field: marker}
