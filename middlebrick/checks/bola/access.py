"""BOLA across identities: another user reads the primary's objects.

Writes are judged in ``bola.writes``, lists that mix owners in ``bola.lists``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from middlebrick.checks._owners import (
    Owners,
    is_collection,
    is_empty,
    owner_fields,
    path_parameters,
    read_same,
    readable,
    record_ids,
    records,
)
from middlebrick.checks._sharing import listed_to, per_user_object, scoped_listings
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation

_CROSS = "bola.cross-identity-access"
_MAX_OTHERS = 3  # other identities tried per operation


@check(category="bola", emits={_CROSS}, per_operation=_MAX_OTHERS + 6)
async def cross_identity_access(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user reads the objects the primary identity fetched.

    Needs two identities. For each operation with path parameters whose baseline (sent as the
    primary identity) answered 2xx with something (an empty list, object or page is never
    evidence), the object is first made a per-user one when it can be: when the first other
    identity's own listing of the collection (one request per collection) shows the baseline's
    object and the value pool holds an object of the primary's that it does not show, that one
    is read as the primary (one request) and taken instead. Then the same request is sent as
    each other identity in turn (at most 3) until one reads it, then once without credentials,
    then the collection the object belongs to (``/projects/`` for ``/projects/{id}``) as that
    other identity, or, when no owner field names the primary, as both: at most 9 requests per
    operation.

    A BOLA needs three facts, and the detail says which decided: the anonymous request is
    denied or answers less (an object anyone reads whole is public, whoever it names); the object is
    proven the primary's, by an owner field equal to one of its own stable identifiers (token
    subject, ``/me`` record; ``created_by.email`` in an owner object counts), by an id given
    with ``--owns``, as its own user record (its e-mail or user name, or an own id that is
    not a bare number), or, for a record with an owner field holding a value none of these
    name (an internal ``user_id``), by the collection listing each caller its own records: the
    primary's listing shows the object, the other's shows others, none in common; and the
    other identity's own listing of the collection does not show it. Then it is confirmed
    and critical. Without proven ownership it is ``info`` (another
    identity reads it, whose it is is unknown); when the other identity's listing shows it,
    ``info`` too (shared with that identity by design). An answer that is the other
    identity's own object (the server ignored the id) is not reported.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    seen: dict[str, set[str]] = {}  # the first other identity's listing values, by URL
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not path_parameters(op) or not readable(baseline) or baseline.response is None:
            continue
        first = ctx.identities.others[0]
        baseline = await per_user_object(ctx, op, baseline, primary, first, seen)
        if baseline.response is None or (
            baseline.response.is_json and is_empty(baseline.response.json)
        ):
            continue
        owner = _object_owner(owners, baseline)
        for other in [o for o in ctx.identities.others if o != owner][:_MAX_OTHERS]:
            theirs = await ctx.send(baseline.request.as_identity(other.name))
            if not read_same(baseline, theirs):
                continue
            anonymous = await ctx.send(baseline.request.without_credentials())
            owned = owner is not None and owner.name == primary.name
            listing = None
            scoped = None
            if owner is None and not readable(anonymous) and _owned_by_someone(baseline):
                scoped = await scoped_listings(ctx, other, op, baseline.request.url)
            if owned and not readable(anonymous):
                detail = _json(baseline)
                listing = await listed_to(
                    ctx,
                    other,
                    op,
                    baseline.request.url,
                    detail=detail if isinstance(detail, dict) else None,
                )
            finding = _verdict(
                ctx,
                op,
                primary,
                other,
                owner,
                (baseline, theirs, anonymous),
                listing=listing,
                scoped=scoped,
            )
            if finding is not None:
                yield finding
            break


def _object_owner(owners: Owners, exchange: Exchange) -> Identity | None:
    """Whose object one read returned: its record, or the only record of a wrapper list
    (``{"customers": [{"id": 2, …}]}``, one object answered as a list of one)."""
    body = exchange.response.json if exchange.response is not None else None
    rows = records(body)
    if is_collection(body) and len(rows) != 1:
        return None
    return owners.subject(rows[0]) if rows else None


def _owned_by_someone(exchange: Exchange) -> bool:
    """True when the one record ``exchange`` read carries an owner field (``user_id`` …)."""
    body = _json(exchange)
    rows = records(body)
    return (
        len(rows) == 1
        and not (is_collection(body) and len(rows) != 1)
        and bool(owner_fields(rows[0]))
    )


def _verdict(
    ctx: CheckContext,
    op: Operation,
    primary: Identity,
    other: Identity,
    owner: Identity | None,
    exchanges: tuple[Exchange, Exchange, Exchange],
    *,
    listing: Exchange | None = None,
    scoped: tuple[Exchange, Exchange] | None = None,
) -> Finding | None:
    """The cross-identity finding: critical when the object is proven the primary's and not
    shared with the other identity, ``info`` when either is not shown; ``None`` when the
    object is public (anonymous reads it too, whole, or it names nobody). ``scoped``: the
    primary's and the other's listings proving the object the primary's (``scoped_listings``)."""
    baseline, theirs, anonymous = exchanges
    owned = scoped is not None or (owner is not None and owner.name == primary.name)
    anonymous_too = readable(anonymous)
    if anonymous_too and (not owned or read_same(baseline, anonymous)):
        return None  # public: anyone reads it whole, so another user reading it is no BOLA
    status = theirs.response.status if theirs.response is not None else "?"
    anon_status: object = anonymous.response.status if anonymous.response else "no answer"
    if anonymous.response is not None and anonymous.response.refused_in_body:
        anon_status = f"{anon_status} with an error envelope (refused)"
    ids = ", ".join(f"{k}={v}" for k, v in sorted(record_ids(_json(baseline)))[:3]) or "the object"
    body = theirs.response.body.strip() if theirs.response is not None else b""
    answer = "with the same object" if body else "(no content)"
    if not owned:
        whose = (
            f"nothing proves the object is {primary.name!r}'s (no owner field names one of its "
            "own identifiers, no --owns id, not its own record), so this is not a BOLA verdict"
        )
    elif scoped is not None:
        whose = (
            f"{primary.name!r}'s own listing `GET {_path(scoped[0])}` shows it and "
            f"{other.name!r}'s own listing of the same URL shows only other records: the "
            f"collection lists each caller its own, so the object is {primary.name!r}'s"
        )
    elif listing is not None:
        whose = (
            f"its owner (or own id) field names {primary.name!r}, but {other.name!r}'s own "
            f"listing `GET {_path(listing)}` shows it: shared with {other.name!r} by design"
        )
    else:
        whose = f"its owner (or own id) field names {primary.name!r}"
    parts = [
        f"identity {other.name!r} read the object of {primary.name!r} ({ids}) through "
        f"`{op.method} {_path(baseline)}`: {status} {answer}",
        whose,
        f"the same request without credentials {'was also answered' if anonymous_too else 'got'} "
        f"{anon_status}",
    ]
    evidence = [
        (f"as {primary.name}", baseline),
        (f"as {other.name}", theirs),
        ("anonymous", anonymous),
    ]
    if listing is not None:
        evidence.append((f"listing as {other.name}", listing))
    if scoped is not None:
        evidence.append((f"listing as {primary.name}", scoped[0]))
        evidence.append((f"listing as {other.name}", scoped[1]))
    proven = owned and listing is None
    return ctx.finding(
        _CROSS,
        op,
        detail="; ".join(p for p in parts if p),
        evidence=evidence,
        confidence=Confidence.confirmed if proven else Confidence.tentative,
        severity=None if proven else Severity.info,
    )


def _json(exchange: Exchange) -> Any:
    return exchange.response.json if exchange.response is not None else None


def _path(exchange: Exchange) -> str:
    url = exchange.request.url
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
