"""Authentication: JSON Web Tokens — forged variants sent, secrets cracked offline, claims read.

The tokens examined are the JWTs in the scan's own credentials and, when the scan has none,
JWTs that baseline responses handed out. Forged tokens travel like the original (same header
or cookie) on an otherwise anonymous request, so the scan's real token is never sent with them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from middlebrick.checks._signatures import ScanEnv
from middlebrick.checks.authentication._jwt import (
    Carried,
    crack,
    given_tokens,
    mask,
    resigned,
    seen_tokens,
    sensitive_claims,
    tampered,
    unsigned,
)
from middlebrick.checks.authentication._jwt_targets import (
    TARGET_TRIES,
    Target,
    accepted,
    find_target,
    forge,
    forged_finding,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange

_NONE = "authentication.jwt-alg-none"
_TAMPERED = "authentication.jwt-tampered-signature"
_EXPIRED = "authentication.jwt-expired-accepted"
_WEAK = "authentication.jwt-weak-secret"
_MISSING = "authentication.jwt-missing-claims"
_SENSITIVE = "authentication.jwt-sensitive-claims"

_NONE_SPELLINGS = ("none", "None")
_EXPECTED_CLAIMS = ("exp", "iss", "aud")
_EXPIRY_MARGIN_S = 120  # a given token counts as expired this long after its exp
_EXPIRED_AGO_S = 86_400  # a re-signed token expired one day ago
_TOKENS_TRIED = 2


@check(category="authentication", emits={_WEAK, _MISSING, _SENSITIVE})
async def jwt_claims(ctx: CheckContext) -> AsyncIterator[Finding]:
    """JWTs read offline: a guessable HMAC secret, missing exp/iss/aud, sensitive claims.

    Reads the JWTs of the scan's credentials and JWTs that baseline responses carried (bodies,
    ``Set-Cookie``); sends no requests.

    - jwt-weak-secret: an HS256/HS384/HS512 token whose signature verifies with a secret of the
      offline search: the few hundred well-known secrets of ``knowledge/jwt_secrets.yaml``
      (defaults, tutorial values), its own ``iss`` / ``aud``, 126,705 common passwords and
      words (``knowledge/jwt_wordlist.txt.gz``) and every number of one to six digits (about
      1.2 million HMACs, a few seconds of one core, run beside the scan's requests); PyJWT
      verifies the hit. The secret is shown masked (``su****ne``). Confirmed: the signature
      proves it.
    - jwt-missing-claims: a token of the scan's credentials without ``exp`` (medium: it never
      expires). A token that has ``exp`` but no ``iss`` / ``aud`` is reported at ``info``: those
      claims matter only where several issuers or services share a key, which a token cannot
      show. One finding naming the missing claims.
    - jwt-sensitive-claims: a claim named like a password, PIN, CVV, password hash, API key,
      client secret or private key, or whose value the data-exposure signatures recognise as an
      SSN, card number, API key or private key. One finding per claim.
    """
    given = given_tokens(ctx)
    tokens = [*given, *seen_tokens(ctx, exclude=given)]
    cracked: set[str] = set()
    searched: set[tuple[str, str, str]] = set()
    for carried in tokens:
        issuer = _signer(carried)
        if issuer in searched:
            continue  # the same issuer's key: one search (about 3 s of CPU) is enough
        searched.add(issuer)
        secret = await asyncio.to_thread(crack, carried.jwt)
        if secret is None or secret in cracked:
            continue
        cracked.add(secret)
        yield ctx.finding(
            _WEAK,
            "*",
            detail=f"the {carried.jwt.alg} signature of the token in {carried.where} verifies "
            f"with the well-known secret {mask(secret)!r} (found offline, no request sent): "
            "anybody can sign a token for any user",
            evidence=_evidence_of(ctx, carried),
            confidence=Confidence.confirmed,
        )
    primary = ctx.identities.primary
    accepted = primary is None or primary.verified is not False
    for carried in given[:1]:
        missing = [claim for claim in _EXPECTED_CLAIMS if claim not in carried.jwt.claims]
        if not missing or not accepted:
            continue
        effect = (
            "it never expires"
            if "exp" in missing
            else "a token another issuer or service signed with the same key would pass"
        )
        yield ctx.finding(
            _MISSING,
            "*",
            parameter=",".join(missing),
            detail=f"the token in {carried.where} has no {', '.join(missing)} claim: {effect}",
            evidence=_evidence_of(ctx, carried),
            severity=None if "exp" in missing else Severity.info,
        )
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    reported: set[str] = set()
    for carried in tokens:
        for claim, holds in sensitive_claims(carried.jwt, env).items():
            if claim in reported:
                continue
            reported.add(claim)
            yield ctx.finding(
                _SENSITIVE,
                "*",
                parameter=claim,
                detail=f"the claim `{claim}` of the token in {carried.where} holds {holds}; "
                "JWT claims are only base64-encoded and readable by anyone holding the token",
                evidence=_evidence_of(ctx, carried),
            )


@check(
    category="authentication",
    emits={_NONE, _TAMPERED, _EXPIRED},
    max_requests=_TOKENS_TRIED * (TARGET_TRIES + 1) + len(_NONE_SPELLINGS) + 2,
)
async def jwt_forgery(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Forged JWTs sent where the real one is accepted: alg=none, a wrong signature, expired.

    Needs an operation that accepts the token and refuses anonymous requests: the verifying
    operation of the scan's identity, or (for a JWT a response handed out) an operation whose
    baseline was refused, tried with it. Each forged token replaces the real one in the same
    header or cookie of an otherwise anonymous copy of that request:

    - jwt-tampered-signature: the same header and claims with a wrong signature of the same
      length (derived from a fixed label, never from the real signature): the signature is not
      verified at all;
    - jwt-alg-none: the same claims with header ``alg: none`` (then ``None``) and no signature,
      tried only when the tampered token was refused — where any signature passes, an unsigned
      token passing too is the same root cause, reported once as jwt-tampered-signature;
    - jwt-expired-accepted: the token the scan was given is past its ``exp`` and was still
      accepted (no request), or, when its secret was cracked offline, the same claims
      re-signed with ``exp`` one day in the past.

    A forged token counts as accepted when the answer is 2xx, not a denial, and carries the
    accepted answer's content (identical body, or the same JSON shape with data: confirmed;
    similar non-JSON: firm) where the anonymous request was refused. At most 10 requests.
    """
    given = given_tokens(ctx)
    for carried in (given or seen_tokens(ctx))[:_TOKENS_TRIED]:
        target = await find_target(ctx, carried)
        if target is None:
            continue
        if carried.jwt.alg.lower() != "none" and carried.jwt.signature:
            probe = await forge(ctx, target, carried, tampered(carried.jwt))
            if (confidence := accepted(target, probe)) is not None:
                how = "with a wrong signature (signatures are not verified at all)"
                yield forged_finding(ctx, _TAMPERED, target, probe, confidence, how)
                expired = await _expired(ctx, target, carried)
                if expired is not None:
                    yield expired
                return
        for alg in _NONE_SPELLINGS:
            probe = await forge(ctx, target, carried, unsigned(carried.jwt, alg))
            if (confidence := accepted(target, probe)) is not None:
                how = f"with `alg: {alg}` and no signature"
                yield forged_finding(ctx, _NONE, target, probe, confidence, how)
                break
        expired = await _expired(ctx, target, carried)
        if expired is not None:
            yield expired
        return


async def _expired(ctx: CheckContext, target: Target, carried: Carried) -> Finding | None:
    now = time.time()
    exp = carried.jwt.expires_at
    if carried.given and exp is not None and exp < now - _EXPIRY_MARGIN_S:
        when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return ctx.finding(
            _EXPIRED,
            "*",
            detail=f"the token in {carried.where} expired at {when}, yet "
            f"`{target.accepted.operation or target.accepted.request.url}` accepted it while "
            "refusing an anonymous request",
            evidence=[("expired token", target.accepted), ("anonymous", target.anonymous)],
            confidence=Confidence.confirmed,
        )
    secret = await asyncio.to_thread(crack, carried.jwt)
    if secret is None:
        return None
    claims = dict(carried.jwt.claims)
    claims["exp"] = int(now) - _EXPIRED_AGO_S
    claims["iat"] = int(now) - 2 * _EXPIRED_AGO_S
    claims.pop("nbf", None)
    probe = await forge(ctx, target, carried, resigned(carried.jwt, claims, secret))
    confidence = accepted(target, probe)
    if confidence is None:
        return None
    return forged_finding(
        ctx,
        _EXPIRED,
        target,
        probe,
        confidence,
        f"re-signed with the cracked secret {mask(secret)!r} and `exp` one day in the past",
    )


def _signer(carried: Carried) -> tuple[str, str, str]:
    """Who signed a token, as far as it says: its alg, kid and iss."""
    header, claims = carried.jwt.header, carried.jwt.claims
    return carried.jwt.alg, str(header.get("kid", "")), str(claims.get("iss", ""))


def _evidence_of(ctx: CheckContext, carried: Carried) -> list[tuple[str, Exchange]]:
    """The response that handed the token out, or the exchange where the scan's one is accepted."""
    if carried.seen_in is not None:
        return [("token handed out", carried.seen_in)]
    verifier = ctx.identities.verifier
    return [("token accepted", verifier)] if verifier is not None else []
