"""BOLA in lists: collections that hand the caller records the API refuses it by id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from middlebrick.checks._owners import (
    Owners,
    is_collection,
    owner_fields,
    parent_of,
    readable,
    records,
    row_id,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation

_FOREIGN = "bola.foreign-records-in-list"


@check(category="bola", emits={_FOREIGN}, per_operation=1)
async def foreign_records(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Collections that hand the primary identity records the API refuses it by id.

    Reads every baseline answer (made as the primary identity) that holds a list of at least
    two records, and their owner fields (``owner_id``, ``owner``, ``created_by``, an owner
    object's ``created_by.email``, and ``user_id``/``account_id``… beside a record id of their
    own; DynamoDB AttributeValues are read too). A candidate is a list where one owner field
    holds, besides values naming the primary, values naming someone else, or names another
    verified identity outright.

    A list that shows other owners' records is also what a shared workspace looks like (a
    team's projects, a tenant's tickets), so one record of another owner is then requested by
    id as the primary, through the collection's own ``GET …/{id}`` (one request). Reported
    when that read is refused (401, 403, 404): the list hands over what the API protects.
    Confirmed, and critical, when the record names another identity of the scan; firm (high)
    when its owner is unknown. When the read by id is answered too, or the collection has no
    read by id, it is ``info``: the records are shared with the caller, or no read checks an
    owner (the cross-identity check tells which).
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    owners = Owners.of(ctx.identities)
    mine = {value for value, who in owners.by_value.items() if who.name == primary.name}
    async for op, exchange in ctx.each(ctx.baseline.successful()):
        body = exchange.response.json if exchange.response is not None else None
        if not readable(exchange) or not is_collection(body):
            continue
        rows = records(body)
        if len(rows) < 2:
            continue
        mixed = _mixed(rows, owners, mine)
        if mixed is None:
            continue
        read = _read_by_id(ctx, op, exchange, mixed.row)
        probe = await ctx.send(read) if read is not None else None
        yield _foreign_finding(ctx, op, exchange, len(rows), mixed, primary, probe)


@dataclass(frozen=True)
class _Mixed:
    """A list's owner column naming the primary and others: counts, and one foreign record."""

    key: str
    own: int
    foreign: int
    known: tuple[str, ...]  # the other identities of the scan it names
    strangers: int  # distinct owner values the scan does not know
    row: dict[str, Any]  # a record of another owner (a known identity's first)


def _mixed(rows: list[dict[str, Any]], owners: Owners, mine: set[str]) -> _Mixed | None:
    """The owner column of a list that names the primary and others, if one does."""
    columns: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for row in rows:
        for key, value in owner_fields(row).items():
            columns.setdefault(key, []).append((value, row))
    for key, pairs in columns.items():
        own = [v for v, _ in pairs if v in mine]
        foreign = [(v, row) for v, row in pairs if v not in mine]
        known = tuple(
            dict.fromkeys(owners.by_value[v].name for v, _ in foreign if v in owners.by_value)
        )
        if not foreign or not (own or known):
            continue
        first = next((row for v, row in foreign if v in owners.by_value), foreign[0][1])
        strangers = len({v for v, _ in foreign if v not in owners.by_value})
        return _Mixed(key, len(own), len(foreign), known, strangers, first)
    return None


def _read_by_id(
    ctx: CheckContext, op: Operation, exchange: Exchange, row: dict[str, Any]
) -> Request | None:
    """The collection's own read by id (``GET /items/{item_id}``) of ``row``, if listed."""
    base = op.path.rstrip("/")
    for candidate in ctx.surface.operations:
        parent = parent_of(candidate.path.rstrip("/"))
        if candidate.method != "GET" or parent is None or parent[0] != base:
            continue
        if not candidate.path.rstrip("/").endswith("}"):
            continue
        value = row_id(row, parent[1])
        if value is None:
            return None
        url = exchange.request.url.split("?", 1)[0].rstrip("/") + "/" + quote(value, safe="")
        if candidate.path.endswith("/"):
            url += "/"
        return Request("GET", url) if ctx.in_scope(url) else None
    return None


def _foreign_finding(
    ctx: CheckContext,
    op: Operation,
    exchange: Exchange,
    count: int,
    mixed: _Mixed,
    primary: Identity,
    probe: Exchange | None,
) -> Finding:
    known = mixed.known
    who = (
        "identit" + ("y " if len(known) == 1 else "ies ") + ", ".join(repr(k) for k in known)
        if known
        else f"{mixed.strangers} owner(s) the scan does not know"
    )
    detail = (
        f"`{op.key}` answered identity {primary.name!r} with {count} records: {mixed.own} of "
        f"them its own by `{mixed.key}`, {mixed.foreign} whose `{mixed.key}` names {who}"
    )
    evidence = [(f"as {primary.name}", exchange)]
    status = probe.response.status if probe is not None and probe.response is not None else None
    refused = probe is not None and not readable(probe) and status in (401, 403, 404)
    if probe is not None:
        evidence.append((f"read by id as {primary.name}", probe))
    if refused and probe is not None:
        detail += (
            f"; read by id (`GET {_path(probe)}`) the same record is refused to "
            f"{primary.name!r} ({status}): the list hands over what the API protects"
        )
        return ctx.finding(
            _FOREIGN,
            op,
            parameter=mixed.key,
            detail=detail,
            evidence=evidence,
            confidence=Confidence.confirmed if known else Confidence.firm,
            severity=Severity.critical if known else Severity.high,
        )
    detail += (
        f"; read by id the record is answered to {primary.name!r} too ({status}), so it is "
        "shared with the caller or no read checks an owner"
        if probe is not None
        else "; the collection has no read by id to tell a shared list from an unfiltered one"
    )
    return ctx.finding(
        _FOREIGN,
        op,
        parameter=mixed.key,
        detail=detail,
        evidence=evidence,
        confidence=Confidence.tentative,
        severity=Severity.info,
    )


def _path(exchange: Exchange) -> str:
    return urlsplit(exchange.request.url).path
