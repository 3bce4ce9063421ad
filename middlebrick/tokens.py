"""JSON Web Tokens as the scanner reads them: decoded without verification, never trusted.

The scan decodes the tokens it was given (to learn who an identity is and when its token
expires) and the tokens it sees (to audit their claims); ``checks`` forge probes from them.
Decoding goes through PyJWT (``decode_complete`` without verification); the signing input is
the token's first two parts, exactly as they were signed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt

__all__ = ["Jwt", "b64url", "bearer_token", "decode_jwt", "find_jwts"]

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_IDENTITY_CLAIMS = ("sub", "user_id", "uid", "username", "preferred_username", "email", "tenant")


@dataclass(frozen=True)
class Jwt:
    """A compact JWS split into its parts; ``header`` and ``claims`` are JSON objects."""

    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes  # base64url(header) "." base64url(payload), as signed
    signature: bytes

    @property
    def alg(self) -> str:
        """The header's ``alg`` ('' when absent)."""
        value = self.header.get("alg")
        return value if isinstance(value, str) else ""

    @property
    def expires_at(self) -> float | None:
        """The ``exp`` claim as a Unix time, when it is a number."""
        exp = self.claims.get("exp")
        return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None

    def identity_values(self) -> set[str]:
        """Claim values that name the token's subject (sub, user_id, username, email, …)."""
        return {
            str(self.claims[name])
            for name in _IDENTITY_CLAIMS
            if isinstance(self.claims.get(name), str | int) and str(self.claims[name])
        }


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_jwt(token: str) -> Jwt | None:
    """The token's parts when it is a well-formed compact JWS with JSON header and claims."""
    raw = token.strip()
    parts = raw.split(".")
    if len(parts) != 3 or len(raw) > 16_384:
        return None
    try:
        decoded = pyjwt.api_jwt.decode_complete(raw, options={"verify_signature": False})
    except (pyjwt.PyJWTError, ValueError, UnicodeDecodeError):
        return None
    header, claims = decoded["header"], decoded["payload"]
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return Jwt(raw, header, claims, f"{parts[0]}.{parts[1]}".encode(), decoded["signature"])


def bearer_token(headers: tuple[tuple[str, str], ...]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header among ``headers``."""
    for name, value in headers:
        scheme, _, token = value.partition(" ")
        if name.lower() == "authorization" and scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def find_jwts(text: str, *, limit: int = 8) -> list[Jwt]:
    """Well-formed JWTs found anywhere in ``text`` (a body, a header value), at most ``limit``."""
    found: list[Jwt] = []
    for match in _JWT.finditer(text):
        token = decode_jwt(match.group(0))
        if token is not None and token.raw not in {t.raw for t in found}:
            found.append(token)
            if len(found) >= limit:
                break
    return found
