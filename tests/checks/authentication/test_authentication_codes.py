"""code_guessing on fake code checks: one-time codes guessed without limit (active mode)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

OTP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "username": {"type": "string"},
        "code": {"type": "string", "pattern": "^[0-9]{6}$"},
    },
}
VERIFY = Operation(
    method="POST",
    path="/api/auth/otp/verify",
    request_body=RequestBody("application/json", OTP_SCHEMA, required=True),
)
REAL_CODES = {"alice": "424242"}


def _server(
    *, limit: int | None = None, status: int = 400, detail: str = "invalid or expired code"
) -> Callable[[Request], Response]:
    failures: dict[str, int] = {}

    def answer(request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        user, code = body.get("username"), body.get("code")
        if limit is not None and failures.get(user, 0) >= limit:
            return response(429, {"detail": "too many attempts"}, {"Retry-After": "60"})
        if REAL_CODES.get(user) == code:
            return response(200, {"token": "t0k3n-0f-a-v3ry-r4nd0m-s0rt-xyz"})
        failures[user] = failures.get(user, 0) + 1
        return response(status, {"detail": detail})

    return answer


async def _run(
    server: Callable[[Request], Response], operation: Operation = VERIFY
) -> tuple[list[Finding], FakeSender]:
    sender = FakeSender({("POST", operation.path): server})
    found = await run_check(
        "authentication.code_guessing",
        baseline=make_baseline([]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(operation,)),
    )
    return found, sender


async def test_code_guessing_reports_codes_answered_without_limit() -> None:
    found, sender = await _run(_server())

    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in found] == [
        (
            "authentication.no-code-brute-force-protection",
            "POST /api/auth/otp/verify",
            "code",
            Confidence.tentative,
        )
    ]
    assert "20 wrong 6-digit codes for one made-up user" in found[0].detail
    assert "all 400" in found[0].detail
    bodies = [json.loads(r.body or b"{}") for r in sender.sent]
    assert len(bodies) == 20
    assert len({b["code"] for b in bodies}) == 20
    assert all(len(b["code"]) == 6 and b["code"].isdigit() for b in bodies)
    assert {b["username"] for b in bodies} != {"alice"}  # one made-up user, never a real one
    assert len({b["username"] for b in bodies}) == 1
    assert all(r.identity == ANONYMOUS for r in sender.sent)


async def test_code_guessing_stays_quiet_when_failures_are_limited() -> None:
    found, sender = await _run(_server(limit=5))

    assert found == []
    assert len(sender.sent) == 20


async def test_code_guessing_stays_quiet_when_the_answer_is_about_missing_credentials() -> None:
    # an MFA step that needs the caller's session: anonymous, it never looks at the code
    found, _ = await _run(
        _server(status=401, detail="Authentication credentials were not provided.")
    )

    assert found == []


async def test_code_guessing_stays_quiet_when_the_made_up_user_is_not_found() -> None:
    found, _ = await _run(_server(status=404, detail="no such user"))

    assert found == []


async def test_code_guessing_leaves_a_coupon_code_outside_authentication_alone() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string"}}}
    redeem = Operation(
        method="POST",
        path="/api/coupons/lookup",
        request_body=RequestBody("application/json", schema, required=True),
    )

    found, sender = await _run(_server(detail="unknown code"), redeem)

    assert found == []
    assert sender.sent == []


async def test_code_guessing_leaves_a_login_with_a_pin_to_the_login_check() -> None:
    schema = {
        "type": "object",
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    }
    schema["properties"]["otp"] = {"type": "string"}
    login = Operation(
        method="POST",
        path="/api/auth/login",
        request_body=RequestBody("application/json", schema, required=True),
    )

    _, sender = await _run(_server(), login)

    assert sender.sent == []


async def test_code_guessing_leaves_an_oauth_authorization_code_exchange_alone() -> None:
    # RFC 6749 §4.1.3: the code is a long random value, not a guessable one-time code
    names = ("grant_type", "code", "redirect_uri", "client_id")
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in names}}
    token = Operation(
        method="POST",
        path="/oauth/token",
        request_body=RequestBody("application/json", schema, required=True),
    )

    found, sender = await _run(_server(detail="invalid authorization code"), token)

    assert found == []
    assert sender.sent == []


async def test_code_guessing_leaves_a_code_of_unknown_length_on_a_plain_auth_path_alone() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string"}}}
    confirm = Operation(
        method="POST",
        path="/api/auth/email/confirm",
        request_body=RequestBody("application/json", schema, required=True),
    )

    _, sender = await _run(_server(), confirm)

    assert sender.sent == []
