"""A fake API for the bola unit tests: one handler answers as each identity would be answered.

The handler sees ``request.identity``: ``None`` is the primary identity (alice), ``"bob"`` the
other one, ``"anonymous"`` no credentials at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from middlebrick.config import Credential, ScanRequest
from middlebrick.identities import Identities
from middlebrick.testing import BASE, two_users
from middlebrick.tokens import b64url
from tests.checks.fakes import Answer, FakeApi

ALICE = {"sub": "u-alice-1", "tenant": "acme"}
BOB = {"sub": "u-bob-2", "tenant": "acme"}


def token(claims: dict[str, Any]) -> str:
    """A JWT-shaped bearer token carrying ``claims`` (the fake API never checks signatures)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


@pytest.fixture
def api() -> Callable[[Answer], FakeApi]:
    """``api(handler)``: a sender that answers every request with ``handler(request)``."""
    return FakeApi


@pytest.fixture
def scan() -> Callable[..., ScanRequest]:
    """``scan(alice={claims}, bob={claims}, mode=…)``: a scan whose identities carry JWTs."""

    def build(mode: str = "safe", **users: dict[str, Any]) -> ScanRequest:
        users = users or {"alice": ALICE, "bob": BOB}
        identities = {
            name: Credential(headers=(("Authorization", f"Bearer {token(claims)}"),))
            for name, claims in users.items()
        }
        return ScanRequest(target=BASE, identities=identities, mode=mode)  # type: ignore[arg-type]

    return build


@pytest.fixture
def users() -> Callable[..., Identities]:
    """``users(alice_ids, bob_ids)``: verified alice (primary) and bob, named by those values."""

    def build(
        alice: tuple[str, ...] = (ALICE["sub"],), bob: tuple[str, ...] = (BOB["sub"],)
    ) -> Identities:
        return two_users(primary_ids=alice, other_ids=bob)

    return build
