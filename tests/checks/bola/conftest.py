"""A fake API for the bola unit tests: one handler answers as each identity would be answered.

The handler sees ``request.identity``: ``None`` is the primary identity (alice), ``"bob"`` the
other one, ``"anonymous"`` no credentials at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from middlebrick.baseline import Baseline
from middlebrick.config import Credential, ScanRequest
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, make_baseline, two_users
from middlebrick.tokens import b64url

Answer = Callable[[Request], Response]
ALICE = {"sub": "u-alice-1", "tenant": "acme"}
BOB = {"sub": "u-bob-2", "tenant": "acme"}


class FakeApi(FakeSender):
    """A ``FakeSender`` whose answers all come from one handler, like a small API."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Answer with the handler and remember the request."""
        self.sent.append(request)
        return Exchange(request, self.answer(request))

    def baseline(self, *pairs: tuple[Operation, str]) -> Baseline:
        """The primary's baseline of each (operation, path), answered by the handler, unsent."""
        exchanges = []
        for op, path in pairs:
            request = Request("GET", BASE + path)
            exchanges.append((op, Exchange(request, self.answer(request), operation=op.key)))
        return make_baseline(exchanges)


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
