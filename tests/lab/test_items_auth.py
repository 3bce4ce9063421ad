"""The items service's authentication and transport flaws: JWTs, headers, CORS, cookies, limits."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import jwt
import pytest
import uvicorn

from lab.identities import USERS, WEAK_SECRET, mint, verify
from lab.items.app import create_app
from lab.runner import Lab, Target

pytestmark = pytest.mark.lab

EVIL = "https://evil.example"


def _none_token(user: str) -> str:
    claims = {"sub": USERS[user].user_id, "name": user, "role": USERS[user].role}
    return jwt.encode(claims, None, algorithm="none")


def _me(http, target: Target, token: str):
    return http("GET", f"{target.url}/users/me", token=token)


def test_vulnerable_tokens_are_signed_with_the_weak_secret_and_never_expire(items_vulnerable):
    token = items_vulnerable.tokens["alice"]
    claims = verify(token, secret=WEAK_SECRET, variant="vulnerable")
    assert "exp" not in claims


def test_vulnerable_service_accepts_an_unsigned_alg_none_token(items_vulnerable, http):
    reply = _me(http, items_vulnerable, _none_token("dave"))
    assert reply.status == 200
    assert reply.json()["user_id"] == USERS["dave"].user_id


def test_vulnerable_service_accepts_an_expired_token_signed_with_the_weak_secret(
    items_vulnerable, http
):
    expired = mint("carol", secret=WEAK_SECRET, exp_seconds=-3600)
    reply = _me(http, items_vulnerable, expired)
    assert reply.status == 200


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: _none_token("dave"), id="alg-none"),
        pytest.param(lambda: mint("dave", secret=WEAK_SECRET), id="weak-secret"),
        pytest.param(lambda: mint("dave", secret=WEAK_SECRET, exp_seconds=None), id="no-exp"),
    ],
)
def test_secure_service_refuses_forged_tokens_with_www_authenticate(items_secure, http, forged):
    reply = _me(http, items_secure, forged())
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") == 'Bearer realm="items"'


def test_secure_service_refuses_its_own_token_once_expired(lab: Lab, items_secure, http):
    expired = mint("alice", secret=lab.secret, exp_seconds=-3600)
    assert _me(http, items_secure, expired).status == 401
    assert _me(http, items_secure, items_secure.tokens["alice"]).status == 200


def test_vulnerable_401_has_no_www_authenticate(items_vulnerable, http):
    reply = http("GET", f"{items_vulnerable.url}/users/me")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") is None


def test_vulnerable_responses_disclose_versions_and_lack_security_headers(items_vulnerable, http):
    reply = http("GET", f"{items_vulnerable.url}/health")
    assert reply.header("Server") == "uvicorn/0.54.0 (Python 3.11)"
    assert reply.header("X-Powered-By") == "FastAPI/0.163.2"
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options"):
        assert reply.header(header) is None


def test_secure_responses_carry_security_headers_and_no_versions(items_secure, http):
    reply = http("GET", f"{items_secure.url}/health")
    assert reply.header("Server") is None
    assert reply.header("X-Powered-By") is None
    assert reply.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("X-Frame-Options") == "DENY"


def test_vulnerable_session_cookie_has_no_flags(items_vulnerable, http):
    cookie = http("GET", f"{items_vulnerable.url}/health").header("Set-Cookie") or ""
    assert cookie.startswith("session=")
    for flag in ("Secure", "HttpOnly", "SameSite"):
        assert flag not in cookie


def test_secure_session_cookie_has_every_flag(items_secure, http):
    cookie = http("GET", f"{items_secure.url}/health").header("Set-Cookie") or ""
    assert cookie.startswith("session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict"):
        assert flag in cookie


@pytest.mark.parametrize("origin", [EVIL, "null"])
def test_vulnerable_cors_reflects_any_origin_with_credentials(items_vulnerable, http, origin):
    simple = http("GET", f"{items_vulnerable.url}/health", headers={"Origin": origin})
    preflight = http(
        "OPTIONS",
        f"{items_vulnerable.url}/items",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    for reply in (simple, preflight):
        assert reply.header("Access-Control-Allow-Origin") == origin
        assert reply.header("Access-Control-Allow-Credentials") == "true"


@pytest.mark.parametrize("origin", [EVIL, "null"])
def test_secure_cors_ignores_origins_outside_the_allow_list(items_secure, http, origin):
    simple = http("GET", f"{items_secure.url}/health", headers={"Origin": origin})
    preflight = http(
        "OPTIONS",
        f"{items_secure.url}/items",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    for reply in (simple, preflight):
        assert reply.header("Access-Control-Allow-Origin") is None
        assert reply.header("Access-Control-Allow-Credentials") is None


def test_vulnerable_service_sends_no_rate_limit_signals(items_vulnerable, http):
    replies = [http("GET", f"{items_vulnerable.url}/health") for _ in range(30)]
    assert {reply.status for reply in replies} == {200}
    assert all(reply.header("RateLimit-Limit") is None for reply in replies)


def test_secure_service_announces_its_rate_limit(items_secure, http):
    reply = http("GET", f"{items_secure.url}/health")
    assert reply.header("RateLimit-Limit") == "1000"
    assert reply.header("RateLimit-Remaining") is not None


@pytest.fixture()
def strict_items(lab: Lab) -> Iterator[str]:
    """A secure items service limited to 3 requests a minute, served in this process."""
    app = create_app(
        "secure",
        endpoint_url=lab.endpoint_url,
        prefix="items_secure_",
        secret=lab.secret,
        rate_limit=(3, 60.0),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="error", lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_secure_service_answers_429_with_retry_after_past_its_limit(strict_items, http):
    replies = [http("GET", f"{strict_items}/health") for _ in range(4)]
    assert [reply.status for reply in replies] == [200, 200, 200, 429]
    assert int(replies[-1].header("Retry-After") or 0) >= 1
    assert replies[-1].header("RateLimit-Remaining") == "0"


def test_vulnerable_docs_and_health_expose_internals(items_vulnerable, http):
    health = http("GET", f"{items_vulnerable.url}/health").json()
    assert health["node"].endswith(".ec2.internal")
    assert http("GET", f"{items_vulnerable.url}/docs").status == 200


def test_secure_docs_are_off_and_health_says_only_ok(items_secure, http):
    assert http("GET", f"{items_secure.url}/health").json() == {"status": "ok"}
    assert http("GET", f"{items_secure.url}/docs").status == 404
    assert http("GET", items_secure.spec_url).status == 200


@pytest.mark.parametrize("variant", ["vulnerable", "secure"])
def test_account_list_is_for_administrators_only(lab: Lab, http, variant: str):
    target = lab.target("items", variant)
    url = f"{target.url}/users"
    assert http("GET", url, token=target.tokens["alice"]).status == 403
    answer = http("GET", url, token=target.tokens["dave"])
    assert answer.status == 200
    assert {u["user_id"] for u in answer.json()} == {u.user_id for u in USERS.values()}


def test_vulnerable_account_list_trusts_a_forged_admin_role(items_vulnerable, items_secure, http):
    claims = {"sub": USERS["alice"].user_id, "name": "alice", "role": "admin"}
    forged = jwt.encode(claims, None, algorithm="none")
    assert http("GET", f"{items_vulnerable.url}/users", token=forged).status == 200
    assert http("GET", f"{items_secure.url}/users", token=forged).status == 401
