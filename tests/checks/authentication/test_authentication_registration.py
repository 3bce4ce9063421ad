"""registration_enumeration on fake registrations: existing users told apart, no account made."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {  # the e-mail first: the scan knows only its own username (drf-spectacular)
        "email": {"type": "string", "format": "email"},
        "username": {"type": "string"},
        "password": {"type": "string", "minLength": 10},
    },
    "required": ["email", "password", "username"],
}
REGISTER = Operation(
    method="POST",
    path="/api/auth/register",
    request_body=RequestBody("application/json", SCHEMA, required=True),
)
ME = Operation(method="GET", path="/api/me", security=({"bearer": ()},))
ALICE = {"user": {"id": 7, "username": "alice"}}
USERS = {"alice"}
MISSING = {"password": ["This field is required."]}


def _server(*, lookup_first: bool, merged: bool = False) -> Callable[[Request], Response]:
    """A registration that looks the name up before validating (``lookup_first``: 409 at
    once; ``merged``: DRF's one 400 with every field's error) or only after."""
    created: list[str] = []

    def answer(request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        taken = body.get("username") in USERS
        if lookup_first and taken:
            return response(409, {"detail": "username already taken"})
        errors: dict[str, Any] = dict(MISSING) if "password" not in body else {}
        if merged and taken:
            errors["username"] = ["A user with that username already exists."]
        if errors:
            return response(400, errors)
        if taken:
            return response(409, {"detail": "username already taken"})
        created.append(body["username"])
        return response(201, {"user": {"username": body["username"]}})

    answer.created = created  # type: ignore[attr-defined]
    return answer


async def _run(server: Callable[[Request], Response]) -> tuple[list[Finding], FakeSender]:
    verifier = exchange("GET", "/api/me", response(200, ALICE), operation=ME.key)
    sender = FakeSender({("POST", "/api/auth/register"): server})
    found = await run_check(
        "authentication.registration_enumeration",
        baseline=make_baseline([(ME, verifier)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(ME, REGISTER)),
        identities=Identities(primary=Identity("default", True, frozenset()), verifier=verifier),
    )
    return found, sender


def _bodies(sender: FakeSender) -> list[dict[str, Any]]:
    return [json.loads(r.body or b"{}") for r in sender.sent if r.method == "POST"]


async def test_registration_enumeration_reports_a_conflict_before_validation() -> None:
    server = _server(lookup_first=True)
    found, sender = await _run(server)

    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in found] == [
        (
            "authentication.user-enumeration",
            "POST /api/auth/register",
            "username",
            Confidence.confirmed,
        )
    ]
    assert "400 instead of 409" in found[0].detail
    bodies = _bodies(sender)
    assert [b["username"] for b in bodies][::2] == ["alice", "alice"]
    assert bodies[1]["username"] != "alice"
    assert all("password" not in b for b in bodies)  # none could create an account
    assert all(b["email"].endswith("@example.invalid") for b in bodies)
    assert all(r.incomplete and r.identity == ANONYMOUS for r in sender.sent)
    assert server.created == []  # type: ignore[attr-defined]


async def test_registration_enumeration_reports_a_taken_name_among_validation_errors() -> None:
    found, _ = await _run(_server(lookup_first=False, merged=True))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("authentication.user-enumeration", Confidence.firm)
    ]


async def test_registration_enumeration_stays_quiet_when_validation_comes_first() -> None:
    server = _server(lookup_first=False)
    found, sender = await _run(server)

    assert found == []
    assert len(sender.sent) == 1  # the unknown name is never sent
    assert server.created == []  # type: ignore[attr-defined]


async def test_registration_enumeration_stays_quiet_when_every_name_is_said_taken() -> None:
    def answer(request: Request) -> Response:
        return response(409, {"detail": "username or e-mail already registered"})

    found, sender = await _run(answer)

    assert found == []
    assert len(sender.sent) == 2
