"""jwt_forged_chain on fakes: a forged token for another user, a user's token raised to admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from middlebrick.checks.authentication import _jwt_forgers as forgers
from middlebrick.config import Credential, ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check
from middlebrick.tokens import b64url

STRONG = "7d3f0c9a1b2e4d5f8a6c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f"
ME = Operation(method="GET", path="/users/me", security=({"bearer": ()},))
ADMIN = Operation(method="GET", path="/accounts", security=({"bearer": ()},))
USERS = {  # sid: a session claim some APIs resolve the caller from (not a subject claim)
    "alice": {"sub": "u-alice", "name": "alice", "role": "user", "sid": "alice"},
    "bob": {"sub": "u-bob", "name": "bob", "role": "user", "sid": "bob"},
    "dave": {"sub": "u-dave", "name": "dave", "role": "admin", "sid": "dave"},
}
RECORDS = {c["sub"]: {"user_id": c["sub"], "name": name} for name, c in USERS.items()}
ACCOUNTS = {"accounts": sorted(RECORDS)}
DENY = response(401, {"detail": "invalid token"})
FORBID = response(403, {"detail": "administrators only"})


def _mint(claims: dict[str, Any], secret: str = STRONG) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


TOKENS = {name: _mint(claims) for name, claims in USERS.items()}


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _caller(request: Request, *, allow_none: bool, secret: str) -> dict[str, Any] | None:
    """The claims the fake API believes: real identities by name, else the bearer token."""
    if request.identity in USERS:
        return USERS[request.identity]
    value = (request.headers.get("authorization") or "").removeprefix("Bearer ")
    if value.count(".") != 2:
        return None
    head, body, signature = value.split(".")
    if _decode(head).get("alg", "").lower() == "none":
        return _decode(body) if allow_none else None
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return _decode(body) if hmac.compare_digest(expected, raw) else None


def _api(
    *, allow_none: bool = True, same_me: bool = False, secret: str = STRONG, by: str = "sub"
) -> dict[tuple[str, str], Any]:
    def me(request: Request) -> Response:
        claims = _caller(request, allow_none=allow_none, secret=secret)
        if claims is None:
            return DENY
        sub = USERS[claims["sid"]]["sub"] if by == "sid" else claims["sub"]
        return response(200, RECORDS["u-alice" if same_me else sub])

    def accounts(request: Request) -> Response:
        claims = _caller(request, allow_none=allow_none, secret=secret)
        if claims is None:
            return DENY
        return response(200, ACCOUNTS) if claims["role"] == "admin" else FORBID

    return {("GET", "/users/me"): me, ("GET", "/accounts"): accounts}


def _identity(name: str) -> Identity:
    return Identity(name, True, frozenset({USERS[name]["sub"]}))


async def _run(
    routes: dict[tuple[str, str], Callable[[Request], Response]],
    names: tuple[str, ...],
    tokens: dict[str, str] = TOKENS,
) -> tuple[list[Finding], FakeSender]:
    """The check with ``names`` as identities, the first the primary (the baseline's)."""
    scan = ScanRequest(
        target=BASE,
        identities={
            n: Credential(headers=(("Authorization", f"Bearer {tokens[n]}"),)) for n in names
        },
    )
    first = USERS[names[0]]
    me = exchange("GET", "/users/me", response(200, RECORDS[first["sub"]]), operation=ME.key)
    listed = response(200, ACCOUNTS) if first["role"] == "admin" else FORBID
    admin = exchange("GET", "/accounts", listed, operation=ADMIN.key)
    identities = Identities(
        primary=_identity(names[0]),
        others=tuple(_identity(n) for n in names[1:]),
        verifier=me,
    )
    sender = FakeSender(routes)
    found = await run_check(
        "authentication.jwt_forged_chain",
        baseline=make_baseline([(ME, me), (ADMIN, admin)]),
        sender=sender,
        scan=scan,
        identities=identities,
    )
    return found, sender


async def test_chain_reports_a_forged_token_that_reads_another_user_s_data() -> None:
    found, sender = await _run(_api(), ("alice", "bob"))

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("authentication.jwt-forged-identity", "GET /users/me", "sub,name")
    ]
    assert found[0].confidence is Confidence.confirmed
    assert "alg: none" in found[0].detail and "bob's own answer" in found[0].detail
    labels = [e.label for e in found[0].evidence]
    assert labels == ["forged token", "bob's real token", "alice's real token", "forging accepted"]
    assert all(r.method == "GET" for r in sender.sent)


async def test_chain_reports_a_user_token_forged_with_the_admin_s_role() -> None:
    found, _ = await _run(_api(), ("alice", "dave"))

    by_op = {f.operation: f for f in found}
    assert set(by_op) == {"GET /users/me", "GET /accounts"}
    raised = by_op["GET /accounts"]
    assert raised.parameter == "role"
    assert "role=admin" in raised.detail and "(403)" in raised.detail
    assert [e.label for e in raised.evidence][:3] == [
        "forged token",
        "alice's real token",
        "dave's real token",
    ]


async def test_chain_raises_the_user_when_the_admin_is_the_primary() -> None:
    found, _ = await _run(_api(), ("dave", "alice"))

    raised = {f.operation: f for f in found}["GET /accounts"]
    assert raised.parameter == "role" and "alice's claims" in raised.detail


async def test_chain_is_quiet_when_the_api_refuses_forged_tokens(monkeypatch) -> None:
    monkeypatch.setattr(forgers, "crack", lambda jwt: None)  # the search's seconds spared
    found, sender = await _run(_api(allow_none=False), ("alice", "bob", "dave"))

    assert found == []
    assert not any(r.url.endswith("/accounts") for r in sender.sent)


async def test_chain_signs_with_a_cracked_secret_when_unsigned_tokens_are_refused() -> None:
    weak = {name: _mint(claims, "sunshine") for name, claims in USERS.items()}
    found, _ = await _run(_api(allow_none=False, secret="sunshine"), ("alice", "dave"), weak)

    assert {(f.operation, f.parameter) for f in found} == {
        ("GET /users/me", "sub,name"),
        ("GET /accounts", "role"),
    }
    assert all("'su****ne'" in f.detail and "sunshine" not in f.detail for f in found)


async def test_chain_is_quiet_when_both_users_get_the_same_answer() -> None:
    found, _ = await _run(_api(same_me=True), ("alice", "bob"))

    assert found == []


async def test_chain_is_quiet_when_the_forged_token_still_gets_the_primary_s_data() -> None:
    found, _ = await _run(_api(by="sid"), ("alice", "bob"))

    assert found == []


async def test_chain_needs_a_second_identity() -> None:
    found, sender = await _run(_api(), ("alice",))

    assert found == [] and sender.sent == []
