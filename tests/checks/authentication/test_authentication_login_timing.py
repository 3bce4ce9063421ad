"""login_timing on fake logins: a failed login that takes longer for existing users."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

SCHEMA = {
    "type": "object",
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
LOGIN = Operation(
    method="POST",
    path="/api/auth/login",
    request_body=RequestBody("application/json", SCHEMA, required=True),
)
ME = Operation(method="GET", path="/api/me", security=({"bearer": ()},))
ALICE = {"user": {"id": 7, "username": "alice"}}


def _server(
    *,
    hash_known_only: bool,
    jitter_ms: tuple[int, ...] = (0, 3, 1, 4, 2),
    lock_after: int | None = None,
    tells: bool = False,
) -> Callable[[Request], Response]:
    """A login whose failed answers take 2 ms plus jitter, plus a 300 ms hash for existing
    users only (``hash_known_only``) or for everyone."""
    jitter = itertools.cycle(jitter_ms)
    failures = [0]

    def answer(request: Request) -> Response:
        user = json.loads(request.body or b"{}").get("username")
        known = user == "alice"
        if known:
            failures[0] += 1
        if lock_after is not None and failures[0] > lock_after:
            return response(429, {"detail": "locked"}, {"Retry-After": "60"})
        took = 2 + next(jitter) + (300 if known or not hash_known_only else 0)
        detail = "unknown user" if tells and not known else "invalid credentials"
        base = response(401, {"detail": detail})
        return Response(base.status, base.headers, base.body, request.url, elapsed_ms=took)

    return answer


async def _run(server: Callable[[Request], Response]) -> tuple[list[Finding], FakeSender]:
    verifier = exchange("GET", "/api/me", response(200, ALICE), operation=ME.key)
    sender = FakeSender({("POST", "/api/auth/login"): server})
    found = await run_check(
        "authentication.login_timing",
        baseline=make_baseline([(ME, verifier)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(ME, LOGIN)),
        identities=Identities(primary=Identity("default", True, frozenset()), verifier=verifier),
    )
    return found, sender


def _users(sender: FakeSender) -> list[str]:
    return [json.loads(r.body or b"{}")["username"] for r in sender.sent]


async def test_login_timing_reports_a_hash_run_only_for_existing_users() -> None:
    found, sender = await _run(_server(hash_known_only=True))

    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in found] == [
        ("authentication.user-enumeration", "POST /api/auth/login", "username", Confidence.firm)
    ]
    assert "s (median of 3: 0.30" in found[0].detail
    users = _users(sender)
    assert len(users) == 11 and users.count("alice") == 3  # never more wrong passwords
    assert len(set(users)) == 5
    assert [u == "alice" for u in users][:5] == [True, False, False, False, True]  # alternating
    assert all(r.fresh for r in sender.sent)


async def test_login_timing_stays_quiet_when_every_login_is_hashed() -> None:
    found, sender = await _run(_server(hash_known_only=False))

    assert found == []
    assert len(sender.sent) == 11


async def test_login_timing_sets_one_stall_of_an_unknown_user_aside() -> None:
    # a busy target stalls one made-up user's attempt by 400 ms: the hash still shows
    found, _ = await _run(_server(hash_known_only=True, jitter_ms=(0, 400, *(2,) * 20)))

    assert [f.type_id for f in found] == ["authentication.user-enumeration"]


async def test_login_timing_stays_quiet_when_two_unknown_users_stall() -> None:
    found, _ = await _run(_server(hash_known_only=True, jitter_ms=(0, 400, 400, *(2,) * 20)))

    assert found == []


async def test_login_timing_stays_quiet_when_jitter_is_as_large_as_the_gap() -> None:
    # a noisy network: unknown users' own times spread over 250 ms
    found, _ = await _run(_server(hash_known_only=True, jitter_ms=(0, 250, 10, 200, 30, 240)))

    assert found == []


async def test_login_timing_stops_at_the_first_sign_of_a_lockout() -> None:
    found, sender = await _run(_server(hash_known_only=True, lock_after=1))

    assert found == []
    assert _users(sender).count("alice") == 2  # the second attempt was refused: no more


async def test_login_timing_leaves_a_login_that_says_so_in_words_to_the_login_check() -> None:
    found, sender = await _run(_server(hash_known_only=True, tells=True))

    assert found == []
    assert len(sender.sent) == 2
