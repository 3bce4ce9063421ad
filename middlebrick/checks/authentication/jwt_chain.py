"""Authentication: what a forged JWT reaches — another user's data, an administrator's function.

Where the API accepts a token the scan forged (a wrong signature, ``alg: none``, the secret
cracked offline, an empty key named by ``kid``), the same technique signs tokens for what an
attacker wants: another identity of the scan, or the less privileged identity carrying the
other's privilege claim. Values come from the identities' own real tokens, never guessed.
Impact is shown by behaviour, against the identities' real answers, with GET requests only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from middlebrick.checks._privilege import Standing, rights_claims, standings
from middlebrick.checks.authentication._jwt import Carried, given_tokens
from middlebrick.checks.authentication._jwt_forgers import MOST_TRIES, Forger, working_forger
from middlebrick.checks.authentication._jwt_targets import find_target
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity, me_exchange
from middlebrick.spec.model import Operation
from middlebrick.tokens import Jwt, find_jwts

_CHAIN = "authentication.jwt-forged-identity"

# Claims that name the token's subject (RFC 7519 §4.1.2 `sub`; OpenID Connect Core §5.1
# `preferred_username`, `email`, `name`; the common custom spellings). Every one that differs
# is forged, so the token names the other identity throughout, whichever the API reads.
_NAMING = ("sub", "user_id", "userId", "uid", "username", "preferred_username", "email", "name")
_OTHERS_TRIED = 2  # other identities tried as the impersonated one
_READS_TRIED = 3  # operations tried for the impersonation, per other identity
_GUARDED_TRIED = 4  # operations tried for the privilege chain
_MAX_REQUESTS = 1 + MOST_TRIES + _OTHERS_TRIED * _READS_TRIED * 2 + _GUARDED_TRIED * 3
_LEAVES = 2000  # JSON values read per answer


@check(category="authentication", emits={_CHAIN}, max_requests=_MAX_REQUESTS)
async def jwt_forged_chain(ctx: CheckContext) -> AsyncIterator[Finding]:
    """A forged token used as an attacker would: to become another user, or an administrator.

    Needs two identities with JWTs and a forging technique the API accepts: first the token
    with the primary identity's own claims is forged with a wrong signature, ``alg: none``
    (then ``None``), the HMAC secret cracked offline, or an empty HMAC key named by a ``kid``
    path (as ``jwt_forgery`` and ``jwt_key_injection`` send them) at the operation that
    accepts the real token and refuses anonymous requests; the first one accepted is used.

    - impersonation: a token with the primary identity's claims except those that name the
      subject (``sub``, ``user_id``, ``username``, ``email`` …), which take the values of
      another identity's real token. Reported on a GET (the ``/me``-like answer first, then
      others that name the primary) that answers each identity its own data — naming it and
      different from the other's — when the forged token gets exactly the other identity's
      answer. Never when both real answers are equal.
    - privilege escalation: when the identities' tokens say one is an ordinary user and the
      other an administrator (``role``, ``is_admin``, ``scope`` … as ``_privilege`` reads
      them), a token with the user's claims and the administrator's differing privilege
      claims. Reported on a GET the user's real token is refused (401/403, sent again as a
      fresh control) and the administrator's real token is allowed, when the forged token
      gets the administrator's content there.

    One finding per chain, naming the technique; evidence: the forged request and its answer,
    then the real tokens' answers (the refusal included). GET only, in every mode: writes
    through a forged token are not sent. At most 30 requests.
    """
    primary = ctx.identities.primary
    given = given_tokens(ctx)
    if primary is None or not ctx.identities.others or not given:
        return
    carried = given[0]
    target = await find_target(ctx, carried)
    if target is None:
        return
    forger = await working_forger(ctx, target, carried)
    if forger is None:
        return
    impersonated = await _impersonation(ctx, forger, carried, primary)
    if impersonated is not None:
        yield impersonated
    escalated = await _escalation(ctx, forger, carried)
    if escalated is not None:
        yield escalated


def _token_of(ctx: CheckContext, identity: Identity, carried: Carried) -> Jwt | None:
    """The identity's own JWT, carried in the same header as the primary's."""
    primary = ctx.identities.primary
    if primary is not None and identity.name == primary.name:
        return carried.jwt
    credential = ctx.scan.identities.get(identity.name)
    for name, value in credential.headers if credential is not None else ():
        if name.lower() == carried.header.lower():
            found = find_jwts(value, limit=1)
            return found[0] if found else None
    return None


async def _impersonation(
    ctx: CheckContext, forger: Forger, carried: Carried, primary: Identity
) -> Finding | None:
    """A token forged for another identity that gets that identity's own data."""
    mine = carried.jwt.claims
    for other in ctx.identities.others[:_OTHERS_TRIED]:
        theirs = _token_of(ctx, other, carried)
        if theirs is None:
            continue
        naming = {
            k: theirs.claims[k]
            for k in _NAMING
            if k in mine and k in theirs.claims and mine[k] != theirs.claims[k]
        }
        if not naming:
            continue
        token = forger.sign({**mine, **naming})
        for op, own in _reads_naming(ctx, primary)[:_READS_TRIED]:
            real = await ctx.send(own.request.as_identity(other.name))
            mine_ids = primary.self_ids | {str(mine[k]) for k in naming}
            their_ids = other.self_ids | {str(v) for v in naming.values()}
            if not _answers_own(real, own, their_ids - mine_ids, mine_ids - their_ids):
                continue
            probe = await _send_forged(ctx, own, carried, token)
            if not _same_json(probe, real):
                continue
            claims = ", ".join(f"{k}={v}" for k, v in naming.items())
            return ctx.finding(
                _CHAIN,
                op,
                parameter=",".join(naming),
                detail=f"a token forged {forger.how} with {claims} (the values of "
                f"{other.name}'s own token) got {other.name}'s own answer from `{op.key}`, "
                f"which answers {primary.name} with {primary.name}'s data: anyone who can "
                f"forge tokens ({forger.technique}) reads any user's data as that user",
                evidence=[
                    ("forged token", probe),
                    (f"{other.name}'s real token", real),
                    (f"{primary.name}'s real token", own),
                    ("forging accepted", forger.probe),
                ],
                confidence=Confidence.confirmed,
            )
    return None


async def _escalation(ctx: CheckContext, forger: Forger, carried: Carried) -> Finding | None:
    """A user's token forged with the administrator's privilege claims, allowed where the
    user's real token is refused and the administrator's allowed."""
    ranked = standings(ctx)
    user = next((s for s in ranked if s.level == "user"), None)
    admin = next((s for s in ranked if s.level == "admin"), None)
    if user is None or admin is None:
        return None
    base = _token_of(ctx, user.identity, carried)
    theirs = rights_claims(ctx, admin.identity)
    if base is None:
        return None
    raised = {k: v for k, v in theirs.items() if "." not in k and base.claims.get(k, object()) != v}
    if not raised:
        return None
    token = forger.sign({**base.claims, **raised})
    for op, exchange in _guarded(ctx, user, admin)[:_GUARDED_TRIED]:
        refused = await ctx.send(exchange.request.as_identity(user.identity.name).sent_fresh())
        if refused.response is None or refused.response.status not in (401, 403):
            continue
        allowed = await ctx.send(exchange.request.as_identity(admin.identity.name))
        resp = allowed.response
        if resp is None or not resp.ok or not resp.body or resp.refused_in_body:
            continue
        probe = await _send_forged(ctx, exchange, carried, token)
        if probe.response is None or not probe.response.ok:
            continue
        if probe.response.body != resp.body and not _same_json(probe, allowed):
            continue
        claims = ", ".join(f"{k}={v}" for k, v in raised.items())
        return ctx.finding(
            _CHAIN,
            op,
            parameter=",".join(raised),
            detail=f"a token forged {forger.how} with {user.identity.name}'s claims and "
            f"{claims} (from {admin.who}'s own token) was allowed `{op.key}`, which refuses "
            f"{user.who} ({refused.response.status}) and allows {admin.identity.name}: anyone "
            f"who can forge tokens ({forger.technique}) becomes an administrator",
            evidence=[
                ("forged token", probe),
                (f"{user.identity.name}'s real token", refused),
                (f"{admin.identity.name}'s real token", allowed),
                ("forging accepted", forger.probe),
            ],
            confidence=Confidence.confirmed,
        )
    return None


def _reads_naming(ctx: CheckContext, primary: Identity) -> list[tuple[Operation, Exchange]]:
    """Baseline GETs whose answer names the primary identity, the ``/me``-like one first."""
    me = me_exchange(ctx.baseline)
    found = [
        (op, ex)
        for op, ex in ctx.baseline.successful()
        if op.method == "GET" and ex.response is not None and ex.response.is_json
        if set(_leaves(ex.response.json)) & primary.self_ids
    ]
    return sorted(found, key=lambda pair: pair[1] is not me)


def _guarded(
    ctx: CheckContext, user: Standing, admin: Standing
) -> list[tuple[Operation, Exchange]]:
    """Baseline GETs that may refuse the user and allow the administrator: those refused to
    the primary when it is the user (403 before 401), else those allowed to it."""
    primary = ctx.identities.primary
    as_user = primary is not None and user.identity.name == primary.name
    found: list[tuple[Operation, Exchange]] = []
    for op, ex in ctx.baseline.items():
        status = ex.response.status if ex.response is not None else None
        if op.method != "GET" or status is None:
            continue
        if (as_user and status in (401, 403)) or (not as_user and ex.answered):
            found.append((op, ex))
    return sorted(found, key=lambda pair: _status(pair[1]) != 403)  # "forbidden" first


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response is not None else None


def _answers_own(
    real: Exchange, own: Exchange, theirs_only: AbstractSet[str], mine_only: AbstractSet[str]
) -> bool:
    """True when ``real`` (the other identity's answer) names it (``theirs_only``), not the
    primary, and differs from the primary's answer ``own``, which names the primary."""
    resp, mine = real.response, own.response
    if resp is None or mine is None or not resp.ok or not resp.is_json or resp.refused_in_body:
        return False
    if resp.json == mine.json:
        return False
    leaves = set(_leaves(resp.json))
    named = bool(set(_leaves(mine.json)) & mine_only)
    return named and bool(leaves & theirs_only) and not leaves & mine_only


async def _send_forged(ctx: CheckContext, like: Exchange, carried: Carried, token: str) -> Exchange:
    """``like``'s request sent without credentials and with ``token`` where the real one goes."""
    return await ctx.send(like.request.without_credentials().with_header(*carried.carrying(token)))


def _same_json(probe: Exchange, real: Exchange) -> bool:
    """True when the forged answer is a 2xx equal to the real one (as JSON)."""
    a, b = probe.response, real.response
    if a is None or b is None or not a.ok or a.refused_in_body or not a.is_json:
        return False
    return bool(a.json == b.json and b.is_json)


def _leaves(value: Any) -> Iterator[str]:
    """The scalar values of a JSON answer as strings (bounded)."""
    stack, seen = [value], 0
    while stack and seen < _LEAVES:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item[:200])
        elif isinstance(item, str | int) and not isinstance(item, bool):
            yield str(item)
