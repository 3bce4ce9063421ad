"""Identity from a client header, on recorded exchanges: swapped users, header-only callers."""

from __future__ import annotations

import json
from collections.abc import Callable

from middlebrick.config import Credential, ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import (
    BASE,
    FakeSender,
    exchange,
    make_baseline,
    response,
    run_check,
    two_users,
)
from middlebrick.tokens import b64url

PROFILE = Operation(method="GET", path="/api/profile")
PROFILES = {
    "u-alice": {"id": "u-alice", "name": "Alice", "email": "alice@acme.example", "tenant": "acme"},
    "u-bob": {"id": "u-bob", "name": "Bob", "email": "bob@acme.example", "tenant": "acme"},
}
TOKENS = {"alice": "u-alice", "bob": "u-bob"}
DENY = response(401, {"error": "authentication required"})


def _token(sub: str) -> str:
    head = b64url(json.dumps({"alg": "HS256"}).encode())
    claims = {"sub": sub, "tenant": "acme"}  # a tenant both users share names neither
    return f"{head}.{b64url(json.dumps(claims).encode())}.c2ln"


SCAN = ScanRequest(
    target=BASE,
    identities={
        name: Credential(headers=(("Authorization", f"Bearer {_token(sub)}"),))
        for name, sub in TOKENS.items()
    },
)


def _caller(request: Request, *, header: str | None, token_required: bool) -> str | None:
    """Who the fake API thinks is calling: the token's user, or the header when it trusts one."""
    from_token = {None: "u-alice", "alice": "u-alice", "bob": "u-bob"}.get(request.identity)
    claimed = request.headers.get(header) if header else None
    if token_required and from_token is None:
        return None
    return claimed or from_token


def _profile_api(
    header: str | None = "X-User-ID", *, token_required: bool = False
) -> Callable[[Request], Response]:
    def answer(request: Request) -> Response:
        who = _caller(request, header=header, token_required=token_required)
        if who is None:
            return DENY
        return response(200, PROFILES.get(who, {"error": "no such user"}))

    return answer


async def _run(
    answer: Callable[[Request], Response],
    *,
    operation: Operation = PROFILE,
    identities: Identities | None = None,
    extra: list[tuple[Operation, Exchange]] | None = None,
) -> tuple[list[Finding], FakeSender]:
    baseline = exchange(
        "GET", operation.path, response(200, PROFILES["u-alice"]), operation=operation.key
    )
    pairs = [(operation, baseline), *(extra or [])]
    sender = FakeSender({("GET", operation.path): answer})
    found = await run_check(
        "authentication.identity_from_header",
        baseline=make_baseline(pairs),
        sender=sender,
        scan=SCAN,
        identities=identities
        or two_users(primary_ids=("u-alice", "alice@acme.example", "acme"), other_ids=("u-bob",)),
    )
    return found, sender


async def test_identity_check_reports_a_header_that_swaps_whose_profile_comes_back() -> None:
    found, _ = await _run(_profile_api())

    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in found] == [
        (
            "authentication.identity-from-header",
            "GET /api/profile",
            "X-User-ID",
            Confidence.confirmed,
        )
    ]
    assert [e.label for e in found[0].evidence] == ["as alice", "as alice with X-User-ID"]
    assert "bob" in found[0].detail and "u-bob" in found[0].detail


async def test_identity_check_reports_a_header_that_authenticates_an_anonymous_caller() -> None:
    def only_own(request: Request) -> Response:
        who = _caller(request, header="X-User-ID", token_required=False)
        if who is None:
            return DENY
        if request.identity is None or who == "u-alice":
            return response(200, PROFILES["u-alice"])
        return response(403, {"error": "not your profile"})

    found, _ = await _run(only_own)

    assert [(f.parameter, f.confidence) for f in found] == [("X-User-ID", Confidence.confirmed)]
    assert [e.label for e in found[0].evidence] == [
        "anonymous",
        "anonymous with X-User-ID",
        "as alice",
    ]
    assert [e.status for e in found[0].evidence] == [401, 200, 200]


async def test_identity_check_stays_quiet_when_the_api_ignores_the_headers() -> None:
    found, sender = await _run(_profile_api(header=None, token_required=True))

    assert found == []
    assert len(sender.sent) == 3  # the swap, the anonymous control, the header-only request


async def test_identity_check_stays_quiet_when_a_mismatching_header_is_refused() -> None:
    def strict(request: Request) -> Response:
        who = _caller(request, header=None, token_required=True)
        claimed = request.headers.get("X-User-ID")
        if who is None:
            return DENY
        if claimed and claimed != who:
            return response(403, {"error": "X-User-ID does not match the token"})
        return response(200, PROFILES[who])

    found, _ = await _run(strict)

    assert found == []


async def test_identity_check_names_the_one_header_the_api_trusts() -> None:
    found, sender = await _run(_profile_api(header="X-Forwarded-User"))

    assert [f.parameter for f in found] == ["X-Forwarded-User"]
    single = sender.sent[-1]
    assert [n for n, _ in single.headers] == ["X-Forwarded-User"]


async def test_identity_check_tries_an_identity_header_the_spec_declares_first() -> None:
    declared = Operation(
        method="GET",
        path="/api/profile",
        parameters=(Parameter(name="X-Member-Id", location="header"),),
    )

    found, sender = await _run(_profile_api(header="X-Member-Id"), operation=declared)

    assert [f.parameter for f in found] == ["X-Member-Id"]
    assert next(iter(sender.sent[0].headers))[0] == "X-Member-Id"


async def test_identity_check_uses_an_owner_id_from_the_baseline_without_a_second_user() -> None:
    orders = Operation(method="GET", path="/api/orders")
    listed = exchange(
        "GET",
        "/api/orders",
        response(200, {"orders": [{"id": "o-1", "owner_id": "u-bob"}]}),
        operation=orders.key,
    )
    alone = Identities(primary=two_users(primary_ids=("u-alice", "acme")).primary)

    found, _ = await _run(_profile_api(), identities=alone, extra=[(orders, listed)])

    assert [(f.operation, f.confidence) for f in found] == [("GET /api/profile", Confidence.firm)]
    assert "the owner u-bob" in found[0].detail


async def test_identity_check_stays_quiet_in_an_anonymous_scan() -> None:
    baseline = exchange("GET", "/api/profile", response(200, PROFILES["u-alice"]))
    sender = FakeSender({("GET", "/api/profile"): _profile_api()})

    found = await run_check(
        "authentication.identity_from_header",
        baseline=make_baseline([(PROFILE, baseline)]),
        sender=sender,
    )

    assert found == [] and sender.sent == []
