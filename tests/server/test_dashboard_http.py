"""The dashboard over plain HTTP: sessions, CSRF and Origin checks, and organisation walls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.server.conftest import PASSWORD, Org, Running


@contextmanager
def _login(service: Running, org: Org) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        yield http, _csrf(http, org)


def _csrf(http: httpx.Client, org: Org) -> str:
    answer = http.post("/login", data={"email": org.email, "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/scans"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = http.get("/scans").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_wrong_password_is_refused_without_a_session(service: Running) -> None:
    with httpx.Client(base_url=service.url) as http:
        answer = http.post("/login", data={"email": service.a.email, "password": "nope" * 4})
        assert answer.status_code == 401 and "set-cookie" not in answer.headers
        assert http.get("/scans").status_code == 303  # to the log-in page


def test_forms_need_the_csrf_token_and_the_own_origin(service: Running, target_url: str) -> None:
    with _login(service, service.a) as (http, csrf):
        assert http.post("/scans", data={"url": target_url}).status_code == 403
        assert http.post("/scans", data={"url": target_url, "csrf": "forged"}).status_code == 403
        evil = http.post(
            "/scans",
            data={"url": target_url, "csrf": csrf},
            headers={"Origin": "http://evil.example"},
        )
        assert evil.status_code == 403
        made = http.post("/scans", data={"url": target_url, "csrf": csrf})
        assert made.status_code == 303 and made.headers["location"].startswith("/scans/")
        service.wait(service.a, made.headers["location"].rsplit("/", 1)[1])
        assert http.post("/logout", data={}).status_code == 403
        assert http.post("/logout", data={"csrf": csrf}).status_code == 303
        assert http.get("/scans").status_code == 303  # the session ended


def test_pages_carry_a_strict_content_security_policy(service: Running) -> None:
    with _login(service, service.a) as (http, _):
        policy = http.get("/scans").headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/scans/{a1}"),
        ("GET", "/scans/{a1}/events"),
        ("GET", "/scans/{a1}/report.json"),
        ("GET", "/scans/{a1}/report.pdf"),
        ("GET", "/diff?old={a1}&new={a2}"),
        ("GET", "/diff?old={b1}&new={a2}"),
        ("POST", "/scans/{a1}/delete"),
    ],
)
def test_another_organisations_session_gets_not_found(
    service: Running, scans: dict[str, str], method: str, path: str
) -> None:
    with _login(service, service.b) as (http, csrf):
        data = {"csrf": csrf} if method == "POST" else None
        answer = http.request(method, path.format(**scans), data=data)
        assert answer.status_code == 404
        with service.client(service.a) as api:
            target = api.get(f"/api/v1/scans/{scans['a1']}").json()["target_id"]
        assert http.get(f"/targets/{target}").status_code == 404
        assert scans["a1"] not in http.get("/scans").text
