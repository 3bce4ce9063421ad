"""The profiles service beyond DynamoDB: versions, admin, relay, docs, debug, headers, spec."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from lab.identities import USERS, mint
from lab.items.outbound import REFUSAL
from lab.profiles.app import create_app
from lab.profiles.seed import order_id
from lab.runner import Target

pytestmark = pytest.mark.lab

ALICE, BOB = USERS["alice"], USERS["bob"]
MARKUP = b"<html><script>alert('relayed')</script></html>"


@pytest.fixture(scope="module")
def vulnerable(lab: Any) -> Target:
    """The vulnerable profiles service."""
    target: Target = lab.target("profiles", "vulnerable")
    return target


@pytest.fixture(scope="module")
def secure(lab: Any) -> Target:
    """The secure profiles twin."""
    target: Target = lab.target("profiles", "secure")
    return target


@pytest.fixture()
def canary() -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering markup; yields its URL and the paths it was asked for."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(MARKUP)))
            self.end_headers()
            self.wfile.write(MARKUP)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/partner", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- versions ---------------------------------------------------------------------------


def test_vulnerable_v1_answers_without_credentials_in_raw_attribute_values(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/v1/users/{BOB.user_id}")
    item = reply.json()["Item"]
    assert reply.status == 200
    assert item["ssn"] == {"S": item["ssn"]["S"]}
    assert "N" in item["balance"] and "SS" in item["interests"]
    assert {"password_hash", "api_key", "role"} <= set(item)


def test_vulnerable_v2_card_shows_anyones_email_phone_and_role(vulnerable, http):
    reply = http(
        "GET", f"{vulnerable.url}/v2/users/{BOB.user_id}", token=vulnerable.tokens["alice"]
    )
    assert reply.json() == {
        "id": BOB.user_id,
        "name": "Bob",
        "email": BOB.email,
        "phone": reply.json()["phone"],
        "tenant": "acme",
        "role": "user",
    }


def test_secure_v1_is_gone_and_v2_shows_only_the_callers_card(secure, http):
    token = secure.tokens["alice"]
    gone = http("GET", f"{secure.url}/v1/users/{BOB.user_id}", token=token)
    other = http("GET", f"{secure.url}/v2/users/{BOB.user_id}", token=token)
    own = http("GET", f"{secure.url}/v2/users/{ALICE.user_id}", token=token)
    assert (gone.status, other.status) == (410, 404)
    assert own.json() == {"id": ALICE.user_id, "name": "Alice"}


# --- admin ------------------------------------------------------------------------------


def test_vulnerable_admin_view_opens_for_a_plain_user(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/admin", token=vulnerable.tokens["alice"])
    assert reply.status == 200
    assert {u["role"] for u in reply.json()["users"]} == {"user", "admin"}
    assert reply.json()["replica"].startswith("10.")


def test_secure_admin_view_needs_the_admin_role_from_the_token(secure, http):
    user = http("GET", f"{secure.url}/admin", token=secure.tokens["alice"])
    spoofed = http("GET", f"{secure.url}/admin", headers={"X-User-ID": USERS["dave"].user_id})
    admin = http("GET", f"{secure.url}/admin", token=secure.tokens["dave"])
    assert (user.status, spoofed.status) == (403, 401)
    assert admin.json() == {"users": len(USERS)}


# --- relay ------------------------------------------------------------------------------


def test_vulnerable_relay_passes_loopback_content_on_unsanitised(vulnerable, http, canary):
    url, seen = canary
    reply = http(
        "GET", f"{vulnerable.url}/api/relay", token=vulnerable.tokens["alice"], params={"url": url}
    )
    assert reply.status == 200
    assert reply.body == MARKUP
    assert reply.header("Content-Type") == "text/html"
    assert seen == ["/partner"]


@pytest.mark.parametrize("url", ["http://192.0.2.10/", "http://169.254.169.254/latest/meta-data/"])
def test_vulnerable_relay_still_refuses_every_non_loopback_host(vulnerable, http, url):
    reply = http(
        "GET", f"{vulnerable.url}/api/relay", token=vulnerable.tokens["alice"], params={"url": url}
    )
    assert reply.status == 400
    assert reply.json() == {"error": REFUSAL}


def test_secure_relay_fetches_nothing_outside_its_allow_list(secure, http, canary):
    url, seen = canary
    reply = http(
        "GET", f"{secure.url}/api/relay", token=secure.tokens["alice"], params={"url": url}
    )
    assert reply.status == 400
    assert reply.json() == {"error": "bad request"}
    assert seen == []


# --- docs, debugger, headers ------------------------------------------------------------


def test_vulnerable_serves_a_docs_page_and_the_werkzeug_console(vulnerable, http):
    docs = http("GET", f"{vulnerable.url}/apidocs")
    console = http("GET", f"{vulnerable.url}/console")
    assert docs.status == 200 and "swagger-ui" in docs.text
    assert console.status == 200 and "Werkzeug Debugger" in console.text


def test_secure_serves_neither_docs_page_nor_console(secure, http):
    for path in ("/apidocs", "/console"):
        reply = http("GET", secure.url + path)
        assert reply.status == 404, path
        assert reply.json() == {"error": "not found"}


def test_vulnerable_headers_disclose_versions_and_lack_protections(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/profile", token=vulnerable.tokens["alice"])
    assert (reply.header("Server") or "").startswith("Werkzeug/")
    for name in ("Strict-Transport-Security", "X-Content-Type-Options", "RateLimit-Limit"):
        assert reply.header(name) is None, name


def test_secure_headers_protect_and_name_no_version(secure, http):
    for reply in (
        http("GET", f"{secure.url}/api/profile", token=secure.tokens["alice"]),
        http("GET", f"{secure.url}/api/profile"),
        http("GET", f"{secure.url}/no-such-page"),
    ):
        assert reply.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert reply.header("X-Frame-Options") == "DENY"
        assert reply.header("RateLimit-Limit") is not None
        assert "/" not in (reply.header("Server") or "")


def test_secure_twin_answers_429_with_retry_after_past_its_limit(lab, http):
    app = create_app(
        "secure",
        endpoint_url=lab.endpoint_url,
        prefix="profiles_secure_",
        secret=lab.secret,
        rate_limit=(3, 60.0),
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        token = mint("bob", secret=lab.secret)
        url = f"http://127.0.0.1:{server.server_port}/api/profile"
        replies = [http("GET", url, token=token) for _ in range(4)]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.header("RateLimit-Remaining") for r in replies[:3]] == ["2", "1", "0"]
    assert int(replies[3].header("Retry-After") or 0) > 0


# --- the OpenAPI document ---------------------------------------------------------------


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, item in spec["paths"].items() for m in item if m == "get"]


def _example_path(spec: dict[str, Any], template: str) -> str:
    values = {"table_name": "orders", "item_id": order_id("alice", 1), "user_id": ALICE.user_id}
    values["holder"] = ALICE.user_id
    return template.format(**values)


@pytest.mark.parametrize("variant", ["vulnerable", "secure"])
def test_every_documented_operation_is_served(lab, http, variant):
    target = lab.target("profiles", variant)
    spec = http("GET", target.spec_url).json()
    assert spec["servers"] == [{"url": target.url}]
    for method, template in _operations(spec):
        reply = http(
            method, target.url + _example_path(spec, template), token=target.tokens["alice"]
        )
        assert reply.status not in (404, 405), (template, reply.status)


def test_vulnerable_spec_hides_admin_and_marks_v1_deprecated(vulnerable, secure, http):
    spec = http("GET", vulnerable.spec_url).json()
    twin_spec = http("GET", secure.spec_url).json()
    assert "/admin" not in spec["paths"] and "/admin" in twin_spec["paths"]
    assert spec["paths"]["/v1/users/{user_id}"]["get"]["deprecated"] is True
    assert "x-variant" not in http("GET", vulnerable.spec_url).text
