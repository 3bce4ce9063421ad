"""SQL injection: values that become part of a SQL statement, proven against fresh controls."""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._bodies import probed_writes
from middlebrick.checks._injection import answered, server_error, signature_hits, unlike
from middlebrick.checks._probe import (
    AMBIENT_HEADERS,
    BREAKER,
    Prober,
    Slot,
    ambient_slot,
    body_slots,
    header_slots,
    is_json,
    slots,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.input_validation._sql_probes import (
    DYNAMODB,
    SQL,
    SqlVerdict,
    boolean,
    dialects_in,
    error_based,
    quote_break,
    time_based,
)
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange
from middlebrick.knowledge import sql_dialects
from middlebrick.spec.model import Operation

BREAKERS = 3
"""Path and query parameters per operation that get the breaker (the request
``data_exposure.error_details`` and the DynamoDB check send too, answered once by the cache)."""

FOLLOW_UPS = 80
"""Follow-up requests for the whole scan: error, boolean and quote-break confirmations."""

TIMED = 64
"""Timing requests for the whole scan: blind parameters, declared headers and cookies, and the
ambient headers of each operation (one request per database when nothing is delayed)."""

BODIES = 10
"""Active mode: POST operations whose JSON body is probed: reads (``/search``) and creations
whose objects the API documents a ``DELETE`` for (each deleted before the next probe)."""

BODY_FIELDS = 2
"""String fields of each such body that get the breaker."""

AMBIENT_FINDINGS = 3
"""Operations reported for the ambient headers before they are no longer probed (a logging
middleware would answer alike on every operation)."""

DEFAULT_DIALECTS = ("postgresql", "mysql")
"""Databases whose sleep is tried when no answer of the scan has named one: the usual servers
behind Python, Node and Ruby APIs (SQLite cannot sleep; SQL Server is added for ASP.NET)."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@check(
    category="input_validation",
    emits={SQL},
    per_operation=BREAKERS,
    max_requests=FOLLOW_UPS + TIMED + BODIES * (1 + BODY_FIELDS),
    writes=True,  # active mode: POSTs (reads, removable creations), through the write journal
)
async def sql_injection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """SQL injection in path, query, header and cookie values, by error, condition and delay.

    For every readable operation whose baseline answered below 500 (and not 401/403), up to
    three path or query parameters, and the header and cookie parameters the description
    declares, get the breaker ``'")(`` (shared with other checks). When
    its answer differs from the baseline (another status, a 5xx, fewer records, or a SQL error
    of SQLite, PostgreSQL, MySQL/MariaDB, SQL Server or Oracle that the baseline lacks), the
    parameter gets, until one proves it:

    - *error*: ``v'`` against ``v''`` (the quote escaped): the database's own syntax error in
      the first, not in the second nor the baseline, and again when ``v'`` is repeated;
    - *boolean*: the original value sent fresh as the control, then ``v' AND 'mb' LIKE 'mb``
      (true) and ``v' AND 'mb' LIKE 'mc`` (false), or ``v AND 7=7`` / ``v AND 7=8`` for a
      number; the true one must answer like the control and the false one unlike it (another
      status, fewer records), and a second pair with other literals must do the same;
    - *quote break*: ``v'`` answers 5xx twice and ``v''`` below 500, no database named (high,
      firm; answers that show DynamoDB's own messages are left to the PartiQL check);
    - *time*, for a parameter whose breaker drew a bare 5xx: the delay below.

    Declared header and cookie parameters not yet proven, and on each operation the ``Referer``,
    ``User-Agent`` and ``X-Forwarded-For`` headers together (values applications log), get the
    *time* probe, within 64 requests for the scan: a sleep of 2 s per database (PostgreSQL
    ``pg_sleep``, MySQL ``SLEEP``, SQL Server ``WAITFOR DELAY``: the ones an answer of the scan
    named, else PostgreSQL and MySQL), each asked once per statement, screened against the
    baseline's time (an operation whose baseline took over 1 s is not timed). A delay must
    then show against a control sent fresh, vanish with a sleep of 0 and show again; for the
    three headers, the one that carries it is found by probing each alone.

    Active mode also probes the JSON bodies of up to ten POST operations that name a read
    (``/products/search``, ``/orders:query``: they cannot change state) or that create in a
    collection whose objects the API documents a ``DELETE`` for (``POST /reviews`` beside
    ``DELETE /reviews/{review_id}``), two string fields each, with the breaker, *error*,
    *boolean* and *quote break* steps above (findings name the field ``body.<field>``). On a
    creation the write journal deletes what each request created before the next is sent; the
    baseline's object must have been deleted, and nothing more is sent once one cannot be.
    The PUT and PATCH bodies of such a collection's objects (``PATCH /reviews/{review_id}``)
    are probed the same way on an object the check creates first, deleted afterwards: never
    on an object that existed before the scan.

    A finding names the database only when one of its error messages was seen, and adds that
    database's advice. One finding per operation and parameter; confirmed (or firm for a bare
    quote break).
    """
    follow = Prober(ctx, FOLLOW_UPS)
    timed = Prober(ctx, TIMED)
    seen: list[str] = []
    ambient = 0
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if operation.method not in _SAFE_METHODS or not _usable(exchange):
            continue
        blind: list[Slot] = []
        declared = header_slots(operation, exchange)
        for slot in [*_parameters(operation, exchange), *declared]:
            charge = slot.where not in ("path", "query")  # the declared cost covers those
            breaker = await follow.try_value(slot, BREAKER, charge=charge)
            if breaker is None or not _differs(breaker, exchange):
                continue
            seen += [d for d in dialects_in(breaker) if d not in seen]
            verdict = await _confirm(follow, slot, breaker)
            if verdict is not None:
                yield _finding(ctx, slot, verdict)
                declared = [s for s in declared if s is not slot]
            elif server_error(breaker) and not signature_hits(breaker, [SQL, *DYNAMODB]):
                blind.append(slot)
        dialects = seen or _default_dialects(ctx)
        for slot in [*blind, *(s for s in declared if s not in blind)]:
            verdict = await time_based(timed, slot, dialects)
            if verdict is not None:
                yield _finding(ctx, slot, verdict)
        if ambient < AMBIENT_FINDINGS:
            found = await _ambient(timed, operation, exchange, dialects)
            if found is not None:
                ambient += 1
                yield _finding(ctx, *found)
    if ctx.scan.mode == "active":
        async for finding in _bodies(ctx, follow):
            yield finding


async def _bodies(ctx: CheckContext, follow: Prober) -> AsyncIterator[Finding]:
    """Active mode: the string fields of JSON bodies of reads and removable creations."""
    async for operation, baseline, document in probed_writes(ctx, [follow], BODIES):
        fields = [s for s in body_slots(operation, baseline, document) if not is_json(s.value)]
        strings = [s for s in fields if isinstance(document[s.parameter.name], str)]
        for slot in strings[:BODY_FIELDS] if _usable(baseline) else []:
            breaker = await follow.try_value(slot, BREAKER, charge=False)
            if breaker is None or not _differs(breaker, baseline):
                continue
            verdict = await _confirm(follow, slot, breaker)
            if verdict is not None:
                yield _finding(ctx, slot, verdict)


async def _ambient(
    prober: Prober, operation: Operation, exchange: Exchange, dialects: list[str]
) -> tuple[Slot, SqlVerdict] | None:
    """The ambient headers screened together, then the one that carries the delay."""
    together = ambient_slot(operation, exchange)
    verdict = await time_based(prober, together, dialects)
    if verdict is None or verdict.dialect is None:
        return None
    for slot in header_slots(operation, exchange, ambient=AMBIENT_HEADERS):
        if slot.parameter.name in AMBIENT_HEADERS:
            alone = await time_based(prober, slot, [verdict.dialect])
            if alone is not None:
                return slot, alone
    return together, verdict


async def _confirm(prober: Prober, slot: Slot, breaker: Exchange) -> SqlVerdict | None:
    """The follow-ups a breaker's answer calls for, cheapest proof first."""
    if dialects_in(breaker):
        verdict = await error_based(prober, slot)
        if verdict is not None:
            return verdict
    if signature_hits(breaker, DYNAMODB):
        return None
    verdict = await boolean(prober, slot)
    if verdict is None and server_error(breaker):
        verdict = await quote_break(prober, slot)
    return verdict


def _parameters(operation: Operation, exchange: Exchange) -> list[Slot]:
    """Up to three path and query parameters whose values are not JSON documents."""
    return [s for s in slots(operation, exchange) if not is_json(s.value)][:BREAKERS]


def _differs(breaker: Exchange, baseline: Exchange) -> bool:
    if signature_hits(breaker, [SQL]) and not signature_hits(baseline, [SQL]):
        return True
    return server_error(breaker) or unlike(breaker, baseline)


def _usable(exchange: Exchange) -> bool:
    return (
        answered(exchange)
        and exchange.response is not None
        and exchange.response.status not in {401, 403}
    )


def _default_dialects(ctx: CheckContext) -> list[str]:
    found = list(DEFAULT_DIALECTS)
    return [*found, "mssql"] if ctx.framework == "aspnet" else found


def _finding(ctx: CheckContext, slot: Slot, verdict: SqlVerdict) -> Finding:
    dialect = sql_dialects().get(verdict.dialect) if verdict.dialect else None
    proven = f" The evidence proves {dialect.name}." if dialect else ""
    return ctx.finding(
        SQL,
        slot.operation,
        detail=verdict.detail + "." + proven,
        evidence=verdict.evidence,
        parameter=slot.name,
        confidence=verdict.confidence,
        severity=verdict.severity,
        advice=f"{dialect.name}: {dialect.advice}" if dialect else None,
    )
