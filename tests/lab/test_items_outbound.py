"""The items service's URL handling: SSRF fetch, webhooks, open redirect, loopback-only guard."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.items import outbound

pytestmark = pytest.mark.lab

RELAYED = b"<html><script>alert('relayed')</script></html>"


@dataclass
class Canary:
    """A loopback HTTP server that records the requests it receives."""

    url: str
    seen: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture()
def canary() -> Iterator[Canary]:
    """A canary server on 127.0.0.1 (free port), stopped after the test."""
    record: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            record.append((self.command, self.path))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(RELAYED)))
            self.end_headers()
            self.wfile.write(RELAYED)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Canary(f"http://127.0.0.1:{server.server_address[1]}", record)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1.nip.io/",
        "http://2130706433/",
        "http://localhost.example/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://[::ffff:c000:20a]/",
    ],
)
def test_outbound_guard_refuses_non_loopback_urls_before_connecting(monkeypatch, url):
    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(outbound.http.client.HTTPConnection, "connect", no_connection)
    with pytest.raises(outbound.NotLoopback, match="only loopback URLs are allowed in the lab"):
        outbound.request(url)


def test_vulnerable_fetch_relays_a_loopback_url_as_it_is(items_vulnerable, http, canary):
    reply = http(
        "GET",
        f"{items_vulnerable.url}/fetch",
        token=items_vulnerable.tokens["alice"],
        params={"url": f"{canary.url}/probe-123"},
    )
    assert reply.status == 200
    assert reply.body == RELAYED
    assert (reply.header("Content-Type") or "").startswith("text/html")
    assert canary.seen == [("GET", "/probe-123")]


def test_vulnerable_fetch_refuses_other_hosts_with_the_lab_message(items_vulnerable, http):
    reply = http(
        "GET",
        f"{items_vulnerable.url}/fetch",
        token=items_vulnerable.tokens["alice"],
        params={"url": "http://169.254.169.254/latest/meta-data/"},
    )
    assert reply.status == 400
    assert reply.json()["detail"] == outbound.REFUSAL


def test_secure_fetch_contacts_nothing(items_secure, http, canary):
    reply = http(
        "GET",
        f"{items_secure.url}/fetch",
        token=items_secure.tokens["alice"],
        params={"url": f"{canary.url}/probe-123"},
    )
    assert reply.status == 400
    assert canary.seen == []


def test_vulnerable_webhook_calls_the_callback_at_once(items_vulnerable, http, canary):
    reply = http(
        "POST",
        f"{items_vulnerable.url}/webhooks",
        token=items_vulnerable.tokens["alice"],
        json_body={"callback_url": f"{canary.url}/hook", "event": "item.updated"},
    )
    assert reply.status == 201
    assert canary.seen == [("POST", "/hook")]


def test_secure_webhook_refuses_hosts_outside_the_allow_list(items_secure, http, canary):
    reply = http(
        "POST",
        f"{items_secure.url}/webhooks",
        token=items_secure.tokens["alice"],
        json_body={"callback_url": f"{canary.url}/hook"},
    )
    assert reply.status == 400
    assert canary.seen == []


def test_vulnerable_redirect_leads_anywhere(items_vulnerable, http):
    reply = http(
        "GET", f"{items_vulnerable.url}/redirect", params={"next": "https://evil.example/"}
    )
    assert reply.status == 302
    assert reply.header("Location") == "https://evil.example/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_secure_redirect_stays_on_site(items_secure, http, target):
    reply = http("GET", f"{items_secure.url}/redirect", params={"next": target})
    assert reply.status == 302
    assert reply.header("Location") == "/"


def test_secure_redirect_keeps_a_relative_path(items_secure, http):
    reply = http("GET", f"{items_secure.url}/redirect", params={"next": "/items"})
    assert reply.header("Location") == "/items"
