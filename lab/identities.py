"""The lab's four users in two tenants, and the JWTs that authenticate them.

alice and bob are users of tenant ``acme``; carol is a user and dave an admin of tenant
``globex``. ``mint()`` signs an HS256 token for one of them; ``verify()`` is the strict verifier
the services share. The vulnerable items service deliberately uses ``WEAK_SECRET`` (a dictionary
word), tokens without ``exp``, and its own broken verifier (``alg=none`` accepted).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import jwt
from jwt.warnings import InsecureKeyLengthWarning

WEAK_SECRET = "sunshine"
ISSUER = "lab"
AUDIENCE = "lab-api"

InvalidToken = jwt.InvalidTokenError
TokenSet: TypeAlias = dict[str, str]
"""User name -> bearer token, for one service variant."""


@dataclass(frozen=True)
class User:
    """One lab user. ``number`` is for services that deliberately use sequential integer keys."""

    name: str
    user_id: str
    tenant: str
    role: Literal["user", "admin"]
    email: str
    number: int


USERS: dict[str, User] = {
    user.name: user
    for user in (
        User(
            "alice",
            "u-alice-3f9c2a71-5b8e-4d1a-9c07-6e2b1f4d8a35",
            "acme",
            "user",
            "alice@acme.example",
            1,
        ),
        User(
            "bob",
            "u-bob-8a41d6e2-0c3f-4b97-a5e8-2d7c9f1b6e04",
            "acme",
            "user",
            "bob@acme.example",
            2,
        ),
        User(
            "carol",
            "u-carol-c27e9b58-4f1d-4a63-8e20-9b5d3a7c1f86",
            "globex",
            "user",
            "carol@globex.example",
            3,
        ),
        User(
            "dave",
            "u-dave-5d08f3c9-7a2e-4e5b-b319-1c6f8e0a4d72",
            "globex",
            "admin",
            "dave@globex.example",
            4,
        ),
    )
}
TENANTS: tuple[str, ...] = ("acme", "globex")


def user_by_id(user_id: str) -> User | None:
    """Return the user with ``user_id``, or None."""
    return next((user for user in USERS.values() if user.user_id == user_id), None)


def strong_secret() -> str:
    """Return a fresh random HS256 secret (32 bytes, hex) for one lab run."""
    return secrets.token_hex(32)


def mint(
    user_name: str,
    *,
    secret: str,
    exp_seconds: int | None = 3600,
    iss: str = ISSUER,
    aud: str = AUDIENCE,
) -> str:
    """Return an HS256 JWT for ``user_name`` (sub, name, tenant, role); no ``exp`` when None."""
    user = USERS[user_name]
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user.user_id,
        "name": user.name,
        "tenant": user.tenant,
        "role": user.role,
        "iss": iss,
        "aud": aud,
        "iat": now,
    }
    if exp_seconds is not None:
        claims["exp"] = now + exp_seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # WEAK_SECRET is deliberate
        return jwt.encode(claims, secret, algorithm="HS256")


def token_set(*, secret: str, exp_seconds: int | None = 3600) -> TokenSet:
    """Return a token for every lab user, signed with ``secret``."""
    return {name: mint(name, secret=secret, exp_seconds=exp_seconds) for name in USERS}


def verify(
    token: str, *, secret: str, variant: Literal["vulnerable", "secure"] = "secure"
) -> dict[str, Any]:
    """Return the verified claims of ``token``, or raise ``InvalidToken``.

    Both variants check the HS256 signature (only HS256), ``iss`` and ``aud``; the secure one also
    requires ``exp``, ``iat`` and ``sub``. The items service's vulnerable verifier, which accepts
    ``alg=none``, lives in ``lab.items``, not here.
    """
    required = ["exp", "iat", "sub", "iss", "aud"] if variant == "secure" else ["sub"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": required},
            leeway=5,
        )
    return claims


def drf_token(user_name: str, *, secret: str, scope: str) -> str:
    """The 40-hex-digit key of ``user_name``'s Django REST framework token in ``scope``.

    Derived from the lab run's secret, so the runner knows every key the seed writes.
    """
    message = f"{scope}/{user_name}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha1).hexdigest()
