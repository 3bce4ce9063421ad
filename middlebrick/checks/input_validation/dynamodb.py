"""DynamoDB injection: operators, expressions, PartiQL statements and table names from requests.

One check: a cheap breaker probe per parameter decides which follow-ups are worth their
requests; the follow-ups (``_dynamodb_probes``) confirm each flaw differentially.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._injection import answered
from middlebrick.checks._probe import Prober, is_json, is_numeric
from middlebrick.checks._probe import slots as slots_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.input_validation._dynamodb_conditions import operator
from middlebrick.checks.input_validation._dynamodb_probes import (
    EXPRESSION,
    OPERATOR,
    PARTIQL,
    TABLE,
    Verdict,
    breaker_families,
    follow_up,
    table_candidates,
)
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange

BREAKER_PROBES = 3
"""String parameters per operation that get the breaker probe."""

FOLLOW_UPS = 60
"""Follow-up requests for the whole scan, shared by the parameters whose breaker calls for them."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@check(
    category="input_validation",
    emits={OPERATOR, EXPRESSION, PARTIQL, TABLE},
    per_operation=BREAKER_PROBES,
    max_requests=FOLLOW_UPS,
)
async def dynamodb_injection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """DynamoDB injection: client operators, spliced expressions, PartiQL, table names.

    For every readable operation whose baseline answered below 500 (and not 401/403):

    - JSON-valued parameters that hold legacy conditions (``{"email": {"ComparisonOperator":
      "EQ", "AttributeValueList": [...]}}``, as ScanFilter / QueryFilter / KeyConditions
      take them) are re-sent with ``NOT_NULL`` (then ``GE " "``, then ``NE``) as the
      operator, and as a control with the same operators and values that match nothing.
    - Up to three other non-numeric path or query parameters get the breaker ``'")(`` (the
      same request ``data_exposure.error_details`` sends, so the client's cache answers it
      once). An answer that turns into a 5xx or carries DynamoDB's expression, PartiQL or
      table messages, and parameters named like a table or index, get follow-ups:
      *expression* (``name)`` and the reserved word ``timestamp`` against the control
      ``name_mbzq``; ``attribute_exists(name) OR name`` against ``… AND name``),
      *PartiQL* (``v' OR 'mb'<>'mc`` against ``v' AND 'mb'<>'mc``, or the same with
      ``name IS NOT MISSING``; ``v'`` against ``v''``),
      *table name* (``mbzq_no_such_table`` must draw DynamoDB's ResourceNotFoundException,
      and another table's name, taken from the API's own path words, must not).

    A finding needs the probe to differ from both the baseline and the control: more records
    than either (confirmed), or DynamoDB's own message that neither shows (firm), or, for a
    PartiQL quote break only, a 5xx that neither shows (tentative). Its evidence is the three
    exchanges, labelled ``baseline``, ``probe`` and ``control``. One finding per operation
    and parameter.
    """
    pool = Prober(ctx, FOLLOW_UPS)
    candidates = table_candidates(ctx.surface.operations)
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if operation.method not in _SAFE_METHODS or not _usable(exchange):
            continue
        breakers = 0
        for slot in slots_of(operation, exchange):
            verdict: Verdict | None = None
            if is_json(slot.value):
                verdict = await operator(pool, slot)
            elif not is_numeric(slot) and breakers < BREAKER_PROBES:
                breakers += 1
                families = await breaker_families(pool, slot)
                verdict = await follow_up(pool, slot, families, candidates)
            if verdict is not None:
                yield ctx.finding(
                    verdict.type_id,
                    operation,
                    detail=verdict.detail,
                    evidence=verdict.trio.evidence(),
                    parameter=slot.name,
                    confidence=verdict.confidence,
                )


def _usable(exchange: Exchange) -> bool:
    """Answered below 500 and not refused: a baseline the probes can be compared with."""
    return (
        answered(exchange)
        and exchange.response is not None
        and exchange.response.status
        not in {
            401,
            403,
        }
    )
