"""BOLA through pagination cursors: unsigned keys the client can rewrite to another owner's."""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._owners import Owners, claims, counterpart, readable, records
from middlebrick.checks._probe import with_parameter
from middlebrick.checks.bola._cursor import Cursor, cursors, param_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter

_UNSIGNED = "bola.unsigned-cursor"
_TAMPERING = "bola.cursor-tampering"
_TRIES = 2  # other identities a cursor is rewritten to, per operation


@check(category="bola", emits={_UNSIGNED, _TAMPERING}, per_operation=_TRIES)
async def pagination_cursors(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Pagination cursors that are readable keys, and whether a rewritten one is obeyed.

    Reads the cursors of every baseline answer that got 2xx: fields such as ``next_cursor``,
    ``nextToken``, ``LastEvaluatedKey`` or ``continuation_token``, and the query of a
    ``next`` link (a field or a ``Link: rel="next"`` header). A cursor is decoded from
    base64/base64url JSON, plain JSON, or taken as the JSON object it is (DynamoDB's
    ``LastEvaluatedKey``/``ExclusiveStartKey`` shapes, AttributeValues included).

    - unsigned-cursor: the cursor decodes to key attributes (``id``, ``*_id``, ``pk``/``sk``…)
      and carries no signature (no ``payload.signature`` segment, no ``sig``/``mac`` field).
      Sends nothing; firm, confirmed when a rewritten cursor was accepted.
    - cursor-tampering (two identities): a value of the cursor that names the primary
      identity (its token subject, e-mail…) is replaced by the other identity's id of the same
      claim, re-encoded as it came, and sent back on the baseline request as the primary
      (one request per other identity, at most 2 per operation). Confirmed when the page
      that comes back holds records whose owner field names the other identity and none of
      the primary's.

    The parameter a cursor goes back in is the one of its ``next`` link, else the declared
    query parameter named like its field (``next_cursor`` -> ``cursor``), else that name.
    """
    owners = Owners.of(ctx.identities)
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not readable(baseline) or baseline.response is None:
            continue
        cursor = next((c for c in cursors(baseline.response) if c.unsigned_key), None)
        if cursor is None:
            continue
        param = param_for(cursor, [p.name for p in op.params("query")])
        tampered = await _tamper(ctx, op, baseline, cursor, param, owners)
        accepted = tampered is not None and readable(tampered[1])
        attributes = ", ".join(f"`{name}`" for name in cursor.key)
        how = {"object": "a JSON object", "json": "plain JSON"}.get(
            cursor.encoding or "", f"{cursor.encoding} JSON"
        )
        yield ctx.finding(
            _UNSIGNED,
            op,
            parameter=param,
            detail=f"the `{cursor.field}` cursor of `{op.key}` is {how} holding the key "
            f"attributes {attributes} with no signature or MAC: a client can decode it and "
            f"send back any key in `{param}`"
            + ("; a rewritten cursor was accepted" if accepted else ""),
            evidence=[
                ("baseline", baseline),
                *([("rewritten cursor", tampered[1])] if tampered else []),
            ],
            confidence=Confidence.confirmed if accepted else Confidence.firm,
        )
        if tampered is not None and _obeyed(owners, tampered):
            other, probe = tampered
            yield ctx.finding(
                _TAMPERING,
                op,
                parameter=param,
                detail=f"the `{cursor.field}` cursor of `{op.key}` names the owner of the "
                f"page; rewritten from the id of {_name(owners)!r} to that of {other.name!r} "
                f"and sent back in `{param}` as {_name(owners)!r}, it returned "
                f"{len(records(probe.response.json if probe.response else None))} records "
                f"owned by {other.name!r}",
                evidence=[(f"as {_name(owners)}: page 1", baseline), ("rewritten cursor", probe)],
                confidence=Confidence.confirmed,
            )


async def _tamper(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    cursor: Cursor,
    param: str,
    owners: Owners,
) -> tuple[Identity, Exchange] | None:
    """The first other identity whose rewritten cursor the API obeyed, else the last try."""
    primary = owners.primary
    if primary is None:
        return None
    mine = set(owners.values_of(primary))
    named = [value for value in cursor.key.values() if value in mine]
    if not named:
        return None
    my_claims = claims(ctx.scan, primary.name, primary=True)
    last: tuple[Identity, Exchange] | None = None
    for other in ctx.identities.others[:_TRIES]:
        their_claims = claims(ctx.scan, other.name, primary=False)
        value = counterpart(named[0], my_claims, their_claims)
        if value is None:
            theirs = owners.values_of(other)
            value = theirs[0] if theirs else None
        rewritten = cursor.rewritten(named[0], value) if value is not None else None
        request = (
            with_parameter(baseline.request, op, Parameter(param, "query"), rewritten)
            if rewritten is not None
            else None
        )
        if request is None:
            continue
        last = (other, await ctx.send(request))
        if _obeyed(owners, last):
            return last
    return last


def _obeyed(owners: Owners, tampered: tuple[Identity, Exchange]) -> bool:
    other, probe = tampered
    body = probe.response.json if probe.response is not None else None
    if not readable(probe) or owners.names_primary(body):
        return False
    return any(who.name == other.name for who in owners.named(body))


def _name(owners: Owners) -> str:
    return owners.primary.name if owners.primary is not None else "the scan"
