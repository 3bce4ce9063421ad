"""Bearer-token verification for the items service: the broken verifier and the fixed one."""

from __future__ import annotations

import warnings
from typing import Any

import jwt
from fastapi import HTTPException, Request
from jwt.warnings import InsecureKeyLengthWarning

from lab.identities import InvalidToken, verify

REALM = 'Bearer realm="items"'


def vulnerable_claims(token: str, secret: str) -> dict[str, Any]:
    """Decode ``token`` the way the vulnerable service does; raise ``InvalidToken`` if refused.

    FLAW: ``alg=none`` tokens are accepted unsigned; HS256 tokens are checked against a
    dictionary-word secret; ``exp``, ``iss`` and ``aud`` are neither required nor checked.
    """
    header = jwt.get_unverified_header(token)
    if str(header.get("alg", "")).lower() == "none":
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_aud": False, "verify_iss": False},
        )
    return claims


def bearer(request: Request) -> str | None:
    """The bearer token of ``request``, or None."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def claims_of(request: Request, *, secure: bool, secret: str) -> dict[str, Any]:
    """The verified claims of the caller, or a 401 (with ``WWW-Authenticate`` only when secure)."""
    token = bearer(request)
    try:
        if token is None:
            raise InvalidToken("no bearer token")
        if secure:
            claims = verify(token, secret=secret, variant="secure")  # FIX: HS256 only, exp/iss/aud
        else:
            claims = vulnerable_claims(token, secret)
        if not isinstance(claims.get("sub"), str):
            raise InvalidToken("no subject")
        return claims
    except (InvalidToken, ValueError) as exc:
        if secure:
            raise HTTPException(
                401, "Not authenticated", headers={"WWW-Authenticate": REALM}
            ) from exc
        # FLAW: a 401 without WWW-Authenticate, and the verifier's own words.
        raise HTTPException(401, f"invalid token: {exc}") from exc
