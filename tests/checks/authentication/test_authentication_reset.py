"""reset_enumeration on fake reset requests: called only when --include names them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.http.scope import Scope
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"email": {"type": "string"}}}
RESET = Operation(
    method="POST",
    path="/api/auth/password-reset",
    request_body=RequestBody("application/json", SCHEMA, required=True),
)
ME = Operation(method="GET", path="/api/me", security=({"bearer": ()},))
ALICE = {"user": {"id": 7, "email": "alice@shop.example"}}


def _server(*, tells: bool) -> Callable[[Request], Response]:
    def answer(request: Request) -> Response:
        email = json.loads(request.body or b"{}").get("email")
        if tells and email != "alice@shop.example":
            return response(404, {"detail": "no account with that address"})
        return response(202, {"detail": "if the address has an account, a link is on its way"})

    return answer


async def _run(
    server: Callable[[Request], Response], *, include: tuple[str, ...] = ("POST /api/auth/*",)
) -> tuple[list[Finding], FakeSender]:
    verifier = exchange("GET", "/api/me", response(200, ALICE), operation=ME.key)
    scan = ScanRequest(target=BASE, mode="active", include=include)
    sender = FakeSender({("POST", "/api/auth/password-reset"): server})
    surface = Surface(base_url=BASE, operations=(ME, RESET))
    sender.scope = Scope.for_scan(scan)  # type: ignore[attr-defined]
    sender.scope.policy.learn(surface)  # type: ignore[attr-defined]
    found = await run_check(
        "authentication.reset_enumeration",
        baseline=make_baseline([(ME, verifier)]),
        sender=sender,
        scan=scan,
        surface=surface,
        identities=Identities(primary=Identity("default", True, frozenset()), verifier=verifier),
    )
    return found, sender


async def test_reset_enumeration_reports_a_reset_that_says_an_address_is_unknown() -> None:
    found, sender = await _run(_server(tells=True))

    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in found] == [
        (
            "authentication.user-enumeration",
            "POST /api/auth/password-reset",
            "email",
            Confidence.confirmed,
        )
    ]
    emails = [json.loads(r.body or b"{}")["email"] for r in sender.sent]
    assert emails.count("alice@shop.example") == 1  # one mail to the scan's own user
    assert all(e.endswith("@example.invalid") for e in emails if e != "alice@shop.example")


async def test_reset_enumeration_stays_quiet_when_every_address_gets_the_same_answer() -> None:
    found, sender = await _run(_server(tells=False))

    assert found == []
    assert len(sender.sent) == 3


async def test_reset_enumeration_never_calls_a_reset_that_include_does_not_name() -> None:
    found, sender = await _run(_server(tells=True), include=())

    assert found == []
    assert sender.sent == []
