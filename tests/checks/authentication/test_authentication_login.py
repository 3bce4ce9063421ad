"""login_flows on fake logins: user enumeration and brute-force protection (active mode)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import parse_qsl

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check
from middlebrick.tokens import b64url

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
USERS = {"alice": "correct horse battery staple"}


def _server(
    *,
    tells: bool = False,
    lock_after: int | None = None,
    message: bool = False,
    budget: int | None = None,
) -> Callable[[Request], Response]:
    failures: dict[str, int] = {}
    sent = [0]

    def answer(request: Request) -> Response:
        sent[0] += 1
        if budget is not None:
            left = str(max(0, budget - sent[0]))
            denied = response(401, {"detail": "invalid credentials"}, {"RateLimit-Remaining": left})
            return denied
        body = json.loads(request.body or b"{}")
        user, password = body.get("username"), body.get("password")
        if lock_after is not None and failures.get(user, 0) >= lock_after:
            return response(429, {"detail": "too many attempts"}, {"Retry-After": "60"})
        if USERS.get(user) == password:
            return response(200, {"token": "t"})
        failures[user] = failures.get(user, 0) + 1
        if user not in USERS and tells:
            return response(404, {"detail": "no such user"})
        if user not in USERS and message:
            return response(401, {"detail": "unknown username"})
        return response(401, {"detail": "invalid credentials"})

    return answer


def _ok_server(
    *,
    tells: bool = False,
    echo: bool = False,
    lock_after: int | None = None,
    token_on_failure: bool = False,
) -> Callable[[Request], Response]:
    """A login that answers a failure 200 with a message, as VAmPI (Flask) does."""
    failures: dict[str, int] = {}

    def answer(request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        user, password = body.get("username"), body.get("password")
        if lock_after is not None and failures.get(user, 0) >= lock_after:
            return response(429, {"status": "fail", "message": "too many attempts"})
        if USERS.get(user) == password or token_on_failure:
            return response(200, {"status": "success", "auth_token": _token({"sub": "x"})})
        failures[user] = failures.get(user, 0) + 1
        if echo:
            message = f"No match for {user} and that password"
        elif not tells:
            message = "Username or Password Incorrect!"
        elif user in USERS:
            message = "Password is not correct for the given username."
        else:
            message = "Username does not exist"
        return response(200, {"status": "fail", "message": message})

    return answer


def _token(claims: dict[str, object]) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{head}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


async def _run(
    server: Callable[[Request], Response], *, token: dict[str, object] | None = None
) -> tuple[list[Finding], FakeSender]:
    """The check against ``server``; the scan's user from ``/api/me``, or (``token``) only
    from the claims of its bearer token."""
    verifier = exchange("GET", "/api/me", response(200, ALICE), operation=ME.key)
    identities = Identities(
        primary=Identity("default", True, frozenset({"u-1"})),
        verifier=verifier if token is None else None,
    )
    headers = () if token is None else (("Authorization", f"Bearer {_token(token)}"),)
    sender = FakeSender({("POST", "/api/auth/login"): server})
    found = await run_check(
        "authentication.login_flows",
        baseline=make_baseline([(ME, verifier)] if token is None else []),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active", headers=headers),
        surface=Surface(base_url=BASE, operations=(ME, LOGIN)),
        identities=identities,
    )
    return found, sender


def _users(sender: FakeSender) -> list[str]:
    return [json.loads(r.body or b"{}")["username"] for r in sender.sent if r.method == "POST"]


async def test_login_flows_reports_a_status_that_tells_existing_users_apart() -> None:
    found, sender = await _run(_server(tells=True))

    enumeration = [f for f in found if f.type_id == "authentication.user-enumeration"]
    assert [(f.operation, f.parameter, f.confidence) for f in enumeration] == [
        ("POST /api/auth/login", "username", Confidence.confirmed)
    ]
    assert "answers 401 for an existing user" in enumeration[0].detail
    assert "404 instead of 401" in enumeration[0].detail
    assert _users(sender)[:4:2] == ["alice", "alice"]  # read from the verifier's answer


async def test_login_flows_reports_a_message_that_tells_existing_users_apart() -> None:
    found, _ = await _run(_server(message=True))

    assert [(f.type_id, f.confidence) for f in found if "enumeration" in f.type_id] == [
        ("authentication.user-enumeration", Confidence.firm)
    ]


async def test_login_flows_stays_quiet_when_every_failure_looks_the_same() -> None:
    found, _ = await _run(_server(lock_after=5))

    assert found == []


async def test_login_flows_reports_a_login_that_never_limits_guessing() -> None:
    found, sender = await _run(_server())

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("authentication.no-brute-force-protection", "password", Confidence.tentative)
    ]
    assert "12 failed logins for one made-up user to `POST /api/auth/login`, one alone" in (
        found[0].detail
    )
    assert "then 11 at once, answered in" in found[0].detail
    guessed = _users(sender)[4:]
    assert len(guessed) == 12 and len(set(guessed)) == 1
    assert guessed[0].startswith("mb-") and "alice" not in guessed  # never a real account


async def test_login_flows_stays_quiet_when_the_login_locks_after_five_failures() -> None:
    found, sender = await _run(_server(lock_after=5))

    assert [f for f in found if "brute" in f.type_id] == []
    assert len(_users(sender)) == 4 + 12  # enumeration, then one burst; the 429s quieten it


async def test_login_flows_never_reports_enumeration_when_a_limiter_answers() -> None:
    # the scan's user is locked (429) while the unknown user gets 401: the limiter, not the user
    found, _ = await _run(_server(lock_after=0))

    assert [f for f in found if "enumeration" in f.type_id] == []


async def test_login_flows_reports_a_general_rate_limit_that_leaves_guessing_free() -> None:
    found, _ = await _run(_server(budget=1000))

    brute = [f for f in found if "brute" in f.type_id]
    assert len(brute) == 1 and "rate-limit headers still allowed 984 more" in brute[0].detail


async def test_login_flows_stays_quiet_when_the_announced_budget_runs_out_soon() -> None:
    found, _ = await _run(_server(budget=60))

    assert [f for f in found if "brute" in f.type_id] == []


async def test_login_flows_reports_a_failed_login_answered_200_with_a_telling_message() -> None:
    # VAmPI: 200 {"status": "fail", "message": "Username does not exist"} vs "Password is not
    # correct for the given username." — a failure without a token, told apart by its message
    found, _ = await _run(_ok_server(tells=True))

    assert sorted((f.type_id, f.confidence) for f in found) == [
        ("authentication.no-brute-force-protection", Confidence.tentative),
        ("authentication.user-enumeration", Confidence.firm),
    ]
    enumeration = next(f for f in found if "enumeration" in f.type_id)
    assert "answers 200 for an existing user" in enumeration.detail
    assert "a different body" in enumeration.detail
    brute = next(f for f in found if "brute" in f.type_id)
    assert "all 200" in brute.detail


async def test_login_flows_stays_quiet_on_a_200_failure_with_one_message_for_everyone() -> None:
    found, _ = await _run(_ok_server())

    assert [f for f in found if "enumeration" in f.type_id] == []


async def test_login_flows_blanks_the_username_a_200_failure_echoes() -> None:
    found, _ = await _run(_ok_server(echo=True))

    assert [f for f in found if "enumeration" in f.type_id] == []


async def test_login_flows_never_judges_200_answers_that_carry_a_token() -> None:
    # every "wrong" login gets a token: it did not fail, so its answers say nothing
    found, sender = await _run(_ok_server(token_on_failure=True))

    assert found == []
    # the first 200 with a token stops the enumeration, the lone attempt's the brute-force probe
    assert len(_users(sender)) == 1 + 1


async def test_login_flows_stays_quiet_when_a_200_failure_login_locks_after_five() -> None:
    found, _ = await _run(_ok_server(tells=True, lock_after=5))

    assert [f for f in found if "brute" in f.type_id] == []


async def test_login_flows_takes_the_username_from_a_name_like_sub_claim() -> None:
    # Flask-JWT-Extended: {"sub": "alice"} and no self operation
    found, sender = await _run(_server(tells=True), token={"sub": "alice", "exp": 2000000000})

    assert [f.type_id for f in found if "enumeration" in f.type_id] == [
        "authentication.user-enumeration"
    ]
    assert _users(sender)[:4:2] == ["alice", "alice"]


async def test_login_flows_never_takes_a_numeric_or_uuid_sub_for_a_username() -> None:
    for sub in ("7", "3f2b8c1e-9a4d-4e5f-8b6a-1c2d3e4f5a6b"):
        found, sender = await _run(_server(tells=True), token={"sub": sub})

        assert [f for f in found if "enumeration" in f.type_id] == []
        assert len(_users(sender)) == 12  # no username known: only the brute-force burst
        assert sub not in _users(sender)


async def test_login_flows_takes_the_name_claim_over_a_user_id_holding_a_uuid() -> None:
    # /users/me answers {"user_id": "u-alice-<uuid>", "name": "alice"}: the id is no login name
    me = {"user_id": "u-alice-3f2b8c1e-9a4d-4e5f-8b6a-1c2d3e4f5a6b", "name": "alice"}
    verifier = exchange("GET", "/api/me", response(200, me), operation=ME.key)
    sender = FakeSender({("POST", "/api/auth/login"): _server(tells=True)})
    headers = (("Authorization", f"Bearer {_token({'sub': me['user_id'], 'name': 'alice'})}"),)

    found = await run_check(
        "authentication.login_flows",
        baseline=make_baseline([(ME, verifier)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active", headers=headers),
        surface=Surface(base_url=BASE, operations=(ME, LOGIN)),
        identities=Identities(primary=Identity("default", True, frozenset()), verifier=verifier),
    )

    assert "authentication.user-enumeration" in [f.type_id for f in found]
    assert _users(sender)[:4:2] == ["alice", "alice"]


# --- OAuth 2.0 password grant: POST /token, form-encoded (FastAPI OAuth2PasswordRequestForm) --

FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "pattern": "^password$"},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "scope": {"type": "string", "default": ""},
    },
    "required": ["username", "password"],
}
TOKEN = Operation(
    method="POST",
    path="/token",
    request_body=RequestBody("application/x-www-form-urlencoded", FORM_SCHEMA, required=True),
)


def _form_server(*, tells: bool) -> Callable[[Request], Response]:
    """A token endpoint that reads a form and, when ``tells``, answers unknown users 404."""

    def answer(request: Request) -> Response:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return response(422, {"detail": "form expected"})
        form = dict(parse_qsl((request.body or b"").decode()))
        if form.get("grant_type") not in (None, "password"):
            return response(422, {"detail": "grant_type"})
        user = form.get("username")
        if USERS.get(user or "") == form.get("password"):
            return response(200, {"access_token": "t", "token_type": "bearer"})
        if user not in USERS and tells:
            return response(404, {"detail": "no such user"})
        return response(401, {"detail": "Incorrect username or password"})

    return answer


async def _run_form(server: Callable[[Request], Response]) -> tuple[list[Finding], FakeSender]:
    verifier = exchange("GET", "/api/me", response(200, ALICE), operation=ME.key)
    sender = FakeSender({("POST", "/token"): server})
    found = await run_check(
        "authentication.login_flows",
        baseline=make_baseline([(ME, verifier)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(ME, TOKEN)),
        identities=Identities(primary=Identity("default", True, frozenset()), verifier=verifier),
    )
    return found, sender


async def test_login_flows_reports_enumeration_on_a_form_encoded_password_grant() -> None:
    found, sender = await _run_form(_form_server(tells=True))

    assert [(f.type_id, f.operation) for f in found if "enumeration" in f.type_id] == [
        ("authentication.user-enumeration", "POST /token")
    ]
    first = dict(parse_qsl((sender.sent[0].body or b"").decode()))
    assert first["grant_type"] == "password" and first["username"] == "alice"


async def test_login_flows_stays_quiet_on_a_password_grant_with_one_answer_for_all() -> None:
    found, sender = await _run_form(_form_server(tells=False))

    assert [f.type_id for f in found if "enumeration" in f.type_id] == []
    assert {r.headers.get("content-type") for r in sender.sent if r.method == "POST"} == {
        "application/x-www-form-urlencoded"
    }


class _Paced(FakeSender):
    """A login answering one attempt after another, each ``each`` seconds; with ``tarpit``,
    a made-up user's attempts past the sixth are held back that long, all at once."""

    def __init__(self, each: float, tarpit: float | None = None) -> None:
        super().__init__({("POST", "/api/auth/login"): _server()})
        self.each, self.tarpit, self.lock = each, tarpit, asyncio.Lock()
        self.failures: dict[str, int] = {}

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        user = str(json.loads(request.body or b"{}").get("username"))
        self.failures[user] = count = self.failures.get(user, 0) + 1
        if self.tarpit is not None and user.startswith("mb-") and count > 6:
            await asyncio.sleep(self.tarpit)
        async with self.lock:
            await asyncio.sleep(self.each)
        return await super().send(request, follow_redirects=follow_redirects)


async def _run_paced(sender: FakeSender) -> list[Finding]:
    return await run_check(
        "authentication.login_flows",
        baseline=make_baseline([]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(ME, LOGIN)),
        identities=Identities(primary=Identity("default", True, frozenset({"u-1"}))),
    )


async def test_login_flows_reports_a_login_that_answers_attempts_one_after_another() -> None:
    # 11 attempts at 0.1 s each: the last waits 1.1 s, 11 times the first, for the others only
    found = await _run_paced(_Paced(each=0.1))

    assert [f.type_id for f in found] == ["authentication.no-brute-force-protection"]
    assert "one alone (answered in 0.1" in found[0].detail


async def test_login_flows_stays_quiet_when_a_tarpit_holds_attempts_back() -> None:
    assert await _run_paced(_Paced(each=0.01, tarpit=1.2)) == []
