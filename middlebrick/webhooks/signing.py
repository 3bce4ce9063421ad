"""Webhook signatures: HMAC-SHA256 over ``timestamp.body`` with the endpoint's secret.

Every delivery carries ``Middlebrick-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` where the
HMAC is computed over the bytes ``f"{t}."`` followed by the exact request body. A receiver
recomputes it with its copy of the secret, compares in constant time, and refuses a timestamp
further than ``tolerance`` seconds from its clock (a replayed old delivery). A header may carry
several ``v1`` values (one per secret while a secret is being rotated); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from middlebrick.errors import SignatureError

__all__ = ["HEADER", "new_secret", "sign", "verify"]

HEADER = "Middlebrick-Signature"
_MAX_HEADER = 4096  # a longer header is not one middlebrick sent


def new_secret() -> str:
    """A fresh random endpoint secret (256 bits)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(body: bytes, secret: str | bytes, *, timestamp: int | None = None) -> str:
    """The ``Middlebrick-Signature`` header value for ``body`` sent at ``timestamp`` (now)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={_digest(at, body, secret)}"


def verify(
    body: bytes | str,
    header: str | None,
    secret: str | bytes,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> None:
    """Check that ``body`` was signed with ``secret`` less than ``tolerance`` seconds ago.

    ``body`` must be the raw request body exactly as received (not re-serialised JSON).
    Raises ``SignatureError`` when the header is missing or malformed, the timestamp is further
    than ``tolerance`` seconds from ``now`` (either way), or no ``v1`` signature matches.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not header:
        raise SignatureError(f"the {HEADER} header is missing")
    if len(header) > _MAX_HEADER:
        raise SignatureError(f"the {HEADER} header is too long to be a signature")
    timestamp, candidates = _parse(header)
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise SignatureError(
            f"the signature's timestamp is {int(abs(clock - timestamp))} s away from now "
            f"(tolerance {tolerance} s): a replayed or delayed delivery, or a wrong clock"
        )
    expected = _digest(timestamp, raw, secret)
    matched = False
    for candidate in candidates:  # compare every one: the time taken does not say which matched
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("the signature does not match the body and the secret")


def _digest(timestamp: int, body: bytes, secret: str | bytes) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise SignatureError(f"the {HEADER} header has no valid timestamp t=")
            timestamp = int(value)
        elif key == "v1" and value.isascii():
            candidates.append(value)
    if timestamp is None:
        raise SignatureError(f"the {HEADER} header has no timestamp t=")
    if not candidates:
        raise SignatureError(f"the {HEADER} header has no v1= signature")
    return timestamp, candidates
