"""BOLA through guessable identifiers: sequential ids and timestamps, and their neighbours."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from middlebrick.checks._owners import (
    Owners,
    is_id_key,
    other_object,
    owner_fields,
    path_parameters,
    readable,
    records,
)
from middlebrick.checks._probe import current_value, with_parameter
from middlebrick.checks._sharing import listed_to
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter

_PREDICTABLE = "bola.predictable-id"
_ADJACENT = "bola.adjacent-id-access"
_NOT_AN_ID = re.compile(
    r"(?i)page|limit|size|offset|count|version|year|month|day|week|lang|locale|format|top|skip"
)
_INTEGER = re.compile(r"^(?:0|[1-9][0-9]{0,17})$")
_UUID_V1 = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I
)
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01

Kind = Literal["sequential integer", "timestamp", "time-based UUID"]


@dataclass(frozen=True)
class _Neighbour:
    """Another object reached by stepping the id: its exchange, the anonymous control, owner."""

    value: int
    probe: Exchange
    anonymous: Exchange
    owner: Identity | None
    confidence: Confidence
    listing: Exchange | None = None  # the primary's own listing that shows it (shared)

    @property
    def proven(self) -> bool:
        """True when the object is shown another's and not shared with the caller."""
        return self.confidence is not Confidence.tentative and self.listing is None


@check(category="bola", emits={_PREDICTABLE, _ADJACENT}, per_operation=4)
async def predictable_ids(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Identifiers that can be guessed, and whether their neighbours hand over other objects.

    Reads the identifier of every baseline request that answered 2xx: path parameters
    (except page, limit, version… ones) and query parameters named like ids. One per
    operation.

    - predictable-id: the value is a sequential integer, a Unix timestamp, or a time-based
      (version 1) UUID. Guessable ids are not a flaw by themselves (every table is numbered),
      so this is ``info``, unless a neighbour proves a BOLA on the same operation (below):
      then it is reported at its catalogue severity, confirmed.
    - adjacent-id-access: for integers, the ids one above and one below (two requests) are
      requested as the primary identity. A candidate when one answers 2xx with another object
      of the baseline's shape (other ids) that is not the primary's own, and it is not
      public (the same request without credentials is denied, one request) unless it names
      another identity. Then the collection the object belongs to is listed as the primary
      (one request): an object the caller's own listing shows is shared with it (``info``).
      Otherwise confirmed, and critical, when it names another identity of the scan (an owner
      field, or its own e-mail or user name); firm (high) when its owner field names someone
      other than the baseline's owner, the baseline being the primary's own object; ``info``
      when nothing says whose it is.

    At most 4 requests per operation; needs credentials for adjacent-id-access.
    """
    owners = Owners.of(ctx.identities)
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not readable(baseline) or baseline.response is None:
            continue
        for param in _id_parameters(op):
            value = current_value(baseline.request, op, param)
            kind = _kind(value)
            if value is None or kind is None:
                continue
            neighbour = None
            if kind != "time-based UUID" and ctx.identities.primary is not None:
                neighbour = await _neighbour(ctx, op, param, baseline, int(value), owners)
            yield _predictable(ctx, op, param, value, kind, baseline, neighbour)
            if neighbour is not None:
                yield _adjacent(ctx, op, param, value, baseline, neighbour)
            break


def _id_parameters(op: Operation) -> list[Parameter]:
    path = [p for p in path_parameters(op) if not _NOT_AN_ID.search(p.name)]
    query = [p for p in op.params("query") if is_id_key(p.name) and not _NOT_AN_ID.search(p.name)]
    return [*reversed(path), *query]


def _kind(value: str | None) -> Kind | None:
    if value is None:
        return None
    if _INTEGER.match(value):
        number = int(value)
        low, high = _EPOCH_S
        if low <= number <= high or low * 1000 <= number <= high * 1000:
            return "timestamp"
        return "sequential integer"
    if _UUID_V1.match(value):
        return "time-based UUID"
    return None


async def _neighbour(
    ctx: CheckContext,
    op: Operation,
    param: Parameter,
    baseline: Exchange,
    value: int,
    owners: Owners,
) -> _Neighbour | None:
    """The first neighbouring id that returns another, non-public object of the same shape."""
    base = baseline.response
    primary = ctx.identities.primary
    if base is None or primary is None:
        return None
    base_owners = {v for r in records(base.json) for v in owner_fields(r).values()}
    steps = (value + 1, value - 1) if value > 0 else (value + 1, value + 2)
    for step in steps:
        request = with_parameter(baseline.request, op, param, str(step))
        if request is None:
            return None
        probe = await ctx.send(request)
        got = probe.response
        if not readable(probe) or got is None or not other_object(base, got, not_id=str(value)):
            continue
        rows = records(got.json)
        owner = owners.subject(rows[0]) if rows else None
        if owner is not None and owner.name == primary.name:
            continue  # the primary's own object
        anonymous = await ctx.send(request.without_credentials())
        if readable(anonymous) and owner is None:
            return None  # public objects
        fields = {v for r in rows for v in owner_fields(r).values()}
        base_rows = records(base.json)
        base_owner = owners.subject(base_rows[0]) if base_rows else None
        mine = base_owner is not None and base_owner.name == primary.name
        if owner is not None:
            confidence = Confidence.confirmed
        elif mine and fields and base_owners and not fields & base_owners:
            confidence = Confidence.firm
        else:
            confidence = Confidence.tentative
        listing = None
        if confidence is not Confidence.tentative:
            listing = await listed_to(ctx, None, op, request.url)
        return _Neighbour(step, probe, anonymous, owner, confidence, listing)
    return None


def _predictable(
    ctx: CheckContext,
    op: Operation,
    param: Parameter,
    value: str,
    kind: Kind,
    baseline: Exchange,
    neighbour: _Neighbour | None,
) -> Finding:
    detail = f"`{param.name}` of `{op.key}` is a {kind} ({value}): the ids of other objects "
    detail += "can be enumerated"
    evidence: list[tuple[str, Exchange]] = [("baseline", baseline)]
    confidence = Confidence.tentative if kind == "time-based UUID" else Confidence.firm
    proven = neighbour is not None and neighbour.proven
    if neighbour is not None:
        detail += f"; {neighbour.value} returned another object of the same shape"
        detail += (
            ", another owner's: a BOLA on this operation"
            if proven
            else ", not proven another owner's"
        )
        evidence.append((f"{param.name}={neighbour.value}", neighbour.probe))
        confidence = Confidence.confirmed
    else:
        detail += "; by itself no flaw: nothing showed another owner's object behind them"
    return ctx.finding(
        _PREDICTABLE,
        op,
        parameter=param.name,
        detail=detail,
        evidence=evidence,
        confidence=confidence,
        severity=None if proven else Severity.info,
    )


def _adjacent(
    ctx: CheckContext,
    op: Operation,
    param: Parameter,
    value: str,
    baseline: Exchange,
    neighbour: _Neighbour,
) -> Finding:
    primary = ctx.identities.primary
    who = primary.name if primary is not None else "the scan"
    status = neighbour.probe.response.status if neighbour.probe.response else "?"
    anon = neighbour.anonymous.response
    whose = {
        Confidence.confirmed: f"its owner (or own e-mail) field names identity "
        f"{neighbour.owner.name if neighbour.owner else '?'!r}",
        Confidence.firm: f"its owner field names another owner than {who!r}'s own object",
        Confidence.tentative: "nothing says whose it is (no owner field names another "
        "owner of an object proven the caller's)",
    }[neighbour.confidence]
    severity = {
        Confidence.confirmed: Severity.critical,
        Confidence.firm: None,
        Confidence.tentative: Severity.info,
    }[neighbour.confidence]
    evidence = [
        (f"as {who}, {param.name}={value}", baseline),
        (f"as {who}, {param.name}={neighbour.value}", neighbour.probe),
        ("anonymous", neighbour.anonymous),
    ]
    if neighbour.listing is not None:
        whose += f", but {who!r}'s own listing `GET {_path(neighbour.listing)}` shows it: shared"
        severity = Severity.info
        evidence.append((f"listing as {who}", neighbour.listing))
    return ctx.finding(
        _ADJACENT,
        op,
        parameter=param.name,
        detail=f"as {who!r}, `{param.name}` {value} (the baseline) and {neighbour.value} "
        f"(one step away) both answered: {status} with another object of the same shape; "
        f"{whose}; without credentials it got {anon.status if anon else 'no answer'}",
        evidence=evidence,
        confidence=neighbour.confidence,
        severity=severity,
    )


def _path(exchange: Exchange) -> str:
    return urlsplit(exchange.request.url).path
