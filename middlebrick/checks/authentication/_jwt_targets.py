"""Where a JWT is accepted, and how a forged one is sent there and judged.

A ``Target`` is a request that the token gets content from while the same request without
credentials is refused. A forged token replaces the real one in the same header or cookie of
an otherwise anonymous copy of that request, so the scan's real token never travels with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from middlebrick.checks._compare import is_denied, looks_like_denial, same_content
from middlebrick.checks.authentication._jwt import Carried
from middlebrick.checks.context import CheckContext
from middlebrick.findings import Confidence, Evidence, Finding
from middlebrick.http.exchange import Exchange

TARGET_TRIES = 2
"""Operations tried to find where a token that a response handed out is accepted."""


@dataclass(frozen=True)
class Target:
    """Where a token is accepted: its 2xx exchange, and the same request denied anonymously."""

    accepted: Exchange
    anonymous: Exchange


async def find_target(ctx: CheckContext, carried: Carried) -> Target | None:
    """Where ``carried`` is accepted while an anonymous request is refused (at most 3 requests)."""
    verifier = ctx.identities.verifier
    if carried.given:
        if verifier is None:
            return None
        anonymous = await ctx.send(verifier.request.without_credentials())
        return Target(verifier, anonymous) if is_denied(anonymous) else None
    if verifier is not None:
        refused = [await ctx.send(verifier.request.without_credentials())]
    else:
        refused = [ex for _, ex in ctx.baseline.items() if is_denied(ex)][:TARGET_TRIES]
    for anonymous in refused:
        if not is_denied(anonymous):
            continue
        request = anonymous.request.without_credentials()
        probe = await ctx.send(request.with_header(*carried.carrying(carried.jwt.raw)))
        resp = probe.response
        if resp is not None and resp.ok and not looks_like_denial(resp) and resp.body:
            return Target(probe, anonymous)
    return None


async def forge(ctx: CheckContext, target: Target, carried: Carried, token: str) -> Exchange:
    """Send ``token`` where ``target`` was accepted, the way ``carried`` travels."""
    request = target.accepted.request.without_credentials()
    return await ctx.send(request.with_header(*carried.carrying(token)))


def accepted(target: Target, probe: Exchange) -> Confidence | None:
    """How sure it is that ``probe`` got what the accepted token gets; None: refused."""
    base, resp = target.accepted.response, probe.response
    if base is None or resp is None or not resp.ok or looks_like_denial(resp):
        return None
    return same_content(base, resp)


def forged_finding(
    ctx: CheckContext,
    type_id: str,
    target: Target,
    probe: Exchange,
    confidence: Confidence,
    how: str,
    more: Sequence[Evidence | tuple[str, Exchange]] = (),
) -> Finding:
    """The finding of a forged token accepted at ``target``: the whole API, the forged, the
    anonymous and the real request as evidence, then ``more``."""
    where = target.accepted.operation or target.accepted.request.url
    statuses = [ex.response.status if ex.response else None for ex in (target.anonymous, probe)]
    return ctx.finding(
        type_id,
        "*",
        detail=f"a token with the same claims {how} got {statuses[1]} from `{where}` with the "
        f"content the real token gets; without a token it answers {statuses[0]}",
        evidence=[
            ("forged token", probe),
            ("anonymous", target.anonymous),
            ("real token", target.accepted),
            *more,
        ],
        confidence=confidence,
    )
