"""Encryption / transport checks: each finding type on a vulnerable recording and its fixed twin."""

from __future__ import annotations

from dataclasses import replace

from middlebrick.config import ScanRequest
from middlebrick.errors import ScopeViolation
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.http.scope import Scope
from middlebrick.spec.model import Operation, Surface
from middlebrick.testing import FakeSender, exchange, make_baseline, response, run_check

REMOTE = "https://api.example.test"
REMOTE_HTTP = "http://api.example.test"
YEAR = "max-age=31536000; includeSubDomains"


def _op(path: str = "/items") -> Operation:
    return Operation(method="GET", path=path)


async def _run(
    name: str,
    pairs: list[tuple[Operation, Exchange]],
    *,
    target: str = REMOTE,
    root: Exchange | None = None,
    sender: FakeSender | None = None,
) -> list[Finding]:
    baseline = make_baseline(pairs, root=root)
    surface = Surface(base_url=target.rstrip("/"), operations=tuple(baseline.operations.values()))
    return await run_check(
        name, baseline=baseline, scan=ScanRequest(target=target), surface=surface, sender=sender
    )


def _get(path: str, resp: Response, base: str = REMOTE) -> Exchange:
    return exchange("GET", path, replace(resp, url=base + path), base=base)


# --- plain HTTP ---------------------------------------------------------------------------------


async def test_plain_http_check_reports_http_target_that_answers_without_redirect() -> None:
    root = _get("/", response(200, {"hello": "world"}), base=REMOTE_HTTP)
    sender = FakeSender()

    found = await _run("encryption.plain_http", [], target=REMOTE_HTTP, root=root, sender=sender)

    assert [(f.type_id, f.operation, f.severity) for f in found] == [
        ("encryption.plain-http", "*", Severity.high)
    ]
    assert found[0].confidence is Confidence.confirmed
    assert "got 200 over plain HTTP" in found[0].detail
    assert sender.sent == []  # the baseline's answer to the target was enough


async def test_plain_http_check_stays_quiet_when_http_target_redirected_to_https() -> None:
    final = replace(response(200, {"hello": "world"}), redirects=(REMOTE + "/",))
    root = exchange("GET", "/", replace(final, url=REMOTE + "/"), base=REMOTE_HTTP)

    assert await _run("encryption.plain_http", [], target=REMOTE_HTTP, root=root) == []


async def test_plain_http_check_stays_quiet_when_redirect_to_https_was_not_followed() -> None:
    moved = response(301, b"", {"Location": REMOTE + "/"})
    root = _get("/", moved, base=REMOTE_HTTP)

    assert await _run("encryption.plain_http", [], target=REMOTE_HTTP, root=root) == []


async def test_plain_http_check_reports_info_only_for_a_loopback_target() -> None:
    root = exchange("GET", "/", response(200, {"hello": "world"}))

    found = await _run("encryption.plain_http", [], target="http://127.0.0.1:8000", root=root)

    assert [(f.type_id, f.severity) for f in found] == [("encryption.plain-http", Severity.info)]
    assert "not assessed on a local target" in found[0].detail


async def test_plain_http_check_reports_info_only_for_a_private_address_target() -> None:
    target = "http://10.0.3.7:8000"
    root = _get("/", response(200, {"ok": True}), target)

    found = await _run("encryption.plain_http", [], target=target, root=root)

    assert [(f.type_id, f.severity) for f in found] == [("encryption.plain-http", Severity.info)]
    assert "a private address" in found[0].detail


async def test_plain_http_check_reports_https_target_whose_http_counterpart_serves_the_api() -> (
    None
):
    sender = FakeSender({("GET", "/v1"): response(200, {"items": []})})

    found = await _run("encryption.plain_http", [], target=REMOTE + "/v1", sender=sender)

    assert [f.type_id for f in found] == ["encryption.plain-http"]
    assert [r.url for r in sender.sent] == [REMOTE_HTTP + "/v1"]


async def test_plain_http_check_stays_quiet_when_http_counterpart_redirects_to_https() -> None:
    sender = FakeSender({("GET", "/v1"): response(308, b"", {"Location": REMOTE + "/v1"})})

    assert await _run("encryption.plain_http", [], target=REMOTE + "/v1", sender=sender) == []


async def test_plain_http_check_stays_quiet_when_http_counterpart_is_out_of_scope() -> None:
    class Refusing(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            raise ScopeViolation("host api.example.test:80 is outside the scope")

    assert await _run("encryption.plain_http", [], target=REMOTE, sender=Refusing()) == []


# --- HSTS -----------------------------------------------------------------------------------------


async def test_hsts_check_reports_missing_header_over_https_above_info() -> None:
    pairs = [(_op(), _get("/items", response(200, [])))]

    found = await _run("encryption.hsts", pairs)

    assert [(f.type_id, f.operation) for f in found] == [("encryption.hsts-missing", "*")]
    assert found[0].severity == Severity.medium


async def test_hsts_check_stays_quiet_when_max_age_is_a_year() -> None:
    pairs = [(_op(), _get("/items", response(200, [], {"Strict-Transport-Security": YEAR})))]

    assert await _run("encryption.hsts", pairs) == []


async def test_hsts_check_reports_weak_max_age_and_notes_missing_include_subdomains() -> None:
    weak = response(200, [], {"Strict-Transport-Security": "max-age=300"})

    found = await _run("encryption.hsts", [(_op(), _get("/items", weak))])

    assert [f.type_id for f in found] == ["encryption.hsts-weak"]
    assert "max-age=300" in found[0].detail and "includeSubDomains" in found[0].detail


async def test_hsts_check_reports_plain_http_answers_at_info_only() -> None:
    plain = [(_op(), exchange("GET", "/items", response(200, [])))]
    hardened = [
        (_op(), exchange("GET", "/items", response(200, [], {"Strict-Transport-Security": YEAR})))
    ]

    found = await _run("encryption.hsts", plain, target="http://127.0.0.1:8000")

    assert [(f.type_id, f.severity) for f in found] == [("encryption.hsts-missing", Severity.info)]
    assert "plain-HTTP" in found[0].detail and "could not be assessed" in found[0].detail
    assert await _run("encryption.hsts", hardened, target="http://127.0.0.1:8000") == []


# --- cookies --------------------------------------------------------------------------------------


def _cookie_pairs(*set_cookies: str) -> list[tuple[Operation, Exchange]]:
    headers = [("Set-Cookie", value) for value in set_cookies]
    return [(_op("/login"), _get("/login", response(200, {"ok": True}, headers)))]


async def test_cookie_check_reports_each_missing_flag_by_cookie_name() -> None:
    found = await _run("encryption.cookie_flags", _cookie_pairs("session=abc123; Path=/"))

    assert [(f.type_id, f.parameter, f.severity) for f in found] == [
        ("encryption.cookie-missing-flags", "session", Severity.medium)
    ]
    assert "Secure, HttpOnly, SameSite" in found[0].detail


async def test_cookie_check_stays_quiet_when_every_flag_is_set() -> None:
    pairs = _cookie_pairs("session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax")

    assert await _run("encryption.cookie_flags", pairs) == []


async def test_cookie_check_reports_info_when_only_samesite_is_missing() -> None:
    # Jupyter Server's login cookie: HttpOnly, no SameSite (browsers take it as Lax).
    found = await _run("encryption.cookie_flags", _cookie_pairs("sid=1; Secure; HttpOnly"))

    assert [(f.parameter, f.severity) for f in found] == [("sid", Severity.info)]


async def test_cookie_check_does_not_require_httponly_of_csrf_cookies() -> None:
    pairs = _cookie_pairs(
        "csrftoken=abc; Secure; SameSite=Lax", "XSRF-TOKEN=x; Secure; SameSite=Strict"
    )

    assert await _run("encryption.cookie_flags", pairs) == []


async def test_cookie_check_ignores_cookies_being_deleted() -> None:
    pairs = _cookie_pairs(
        "session=; Max-Age=0; Path=/", "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
    )

    assert await _run("encryption.cookie_flags", pairs) == []


async def test_cookie_check_does_not_ask_secure_over_plain_http() -> None:
    cookie = {"Set-Cookie": "sessionid=1; HttpOnly; SameSite=Lax"}
    pairs = [(_op("/login"), exchange("GET", "/login", response(200, {}, cookie)))]

    assert await _run("encryption.cookie_flags", pairs, target="http://127.0.0.1:8000") == []


async def test_cookie_check_reports_a_session_cookie_without_httponly_over_plain_http() -> None:
    cookie = {"Set-Cookie": "sessionid=1; SameSite=Lax"}
    pairs = [(_op("/login"), exchange("GET", "/login", response(200, {}, cookie)))]

    found = await _run("encryption.cookie_flags", pairs, target="http://127.0.0.1:8000")

    assert [(f.parameter, f.detail.split(" (")[0]) for f in found] == [
        ("sessionid", "cookie `sessionid` is set without HttpOnly")
    ]


async def test_cookie_check_stays_quiet_on_cookies_that_authenticate_nothing() -> None:
    pairs = _cookie_pairs("fake=fake_value; Path=/", "theme=dark", "possession=pawn; Path=/")

    assert await _run("encryption.cookie_flags", pairs) == []


async def test_cookie_check_requires_httponly_only_of_session_like_cookies() -> None:
    pairs = _cookie_pairs(
        "theme=dark; Secure; SameSite=Lax",
        "pref=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2ln; Secure; SameSite=Lax",
        "connect.sid=s%3AqZ8v; Secure; SameSite=Lax",
    )

    found = await _run("encryption.cookie_flags", pairs)

    assert sorted((f.parameter, f.detail.split(" (")[0]) for f in found) == [
        ("connect.sid", "cookie `connect.sid` is set without HttpOnly"),
        ("pref", "cookie `pref` is set without HttpOnly"),
    ]


async def test_cookie_check_does_not_ask_secure_of_a_deployed_plain_http_api() -> None:
    pairs = [
        (
            _op("/login"),
            _get("/login", response(200, {}, {"Set-Cookie": "sid=1; HttpOnly"}), REMOTE_HTTP),
        )
    ]

    found = await _run("encryption.cookie_flags", pairs, target=REMOTE_HTTP)

    assert [(f.parameter, f.detail.split(" (")[0], f.severity) for f in found] == [
        ("sid", "cookie `sid` is set without SameSite", Severity.info)
    ]


async def test_cookie_check_reads_the_root_and_error_answers_too() -> None:
    root = _get("/", response(200, "<html>", {"Set-Cookie": "session=a; Path=/"}))
    failed = [(_op("/me"), _get("/me", response(401, {}, {"Set-Cookie": "auth=; Max-Age=0"})))]

    found = await _run("encryption.cookie_flags", failed, root=root)

    assert [(f.parameter, f.detail.split(" (first")[0]) for f in found] == [
        ("session", "cookie `session` is set without Secure, HttpOnly, SameSite")
    ]


class _ScopedSender(FakeSender):
    """A fake sender with the scan's scope and a place for notes, as the real client has."""

    def __init__(self, target: str, routes: dict[tuple[str, str], Response] | None = None) -> None:
        super().__init__(routes)
        self.scope = Scope.for_scan(ScanRequest(target=target))
        self.notes: list[str] = []

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)


async def test_plain_http_check_notes_when_port_80_is_outside_the_scope() -> None:
    target = "https://api.example.test:8443/v1"
    sender = _ScopedSender(target)

    found = await _run("encryption.plain_http", [], target=target, sender=sender)

    assert found == [] and sender.sent == []
    assert sender.notes == [
        "the HTTP to HTTPS redirect was not assessed: api.example.test:80 is outside the "
        f"scan's scope (the target {target} names its port)"
    ]


async def test_plain_http_check_asks_port_80_of_an_https_target() -> None:
    sender = _ScopedSender(
        REMOTE + "/v1", {("GET", "/v1"): response(301, b"", {"Location": REMOTE + "/v1"})}
    )

    assert await _run("encryption.plain_http", [], target=REMOTE + "/v1", sender=sender) == []
    assert [r.url for r in sender.sent] == [REMOTE_HTTP + "/v1"] and sender.notes == []


async def test_plain_http_check_audits_cookies_its_plain_http_answer_sets() -> None:
    answer = response(200, {"items": []}, {"Set-Cookie": "session=abc; Path=/"})
    sender = FakeSender({("GET", "/v1"): replace(answer, url=REMOTE_HTTP + "/v1")})

    found = await _run("encryption.plain_http", [], target=REMOTE + "/v1", sender=sender)

    assert sorted((f.type_id, f.parameter) for f in found) == [
        ("encryption.cookie-missing-flags", "session"),
        ("encryption.plain-http", None),
    ]


# --- mixed content --------------------------------------------------------------------------------


async def test_mixed_content_check_reports_plain_http_script_in_https_page() -> None:
    page = '<html><script src="http://cdn.example.com/app.js"></script></html>'
    pairs = [(_op("/docs"), _get("/docs", response(200, page, {"Content-Type": "text/html"})))]

    found = await _run("encryption.mixed_content", pairs)

    assert [(f.type_id, f.operation) for f in found] == [("encryption.mixed-content", "GET /docs")]
    assert "http://cdn.example.com/app.js" in found[0].detail
    assert found[0].evidence[0].match == '<script src="http://cdn.example.com/app.js'


async def test_mixed_content_check_stays_quiet_when_the_script_is_https() -> None:
    page = '<html><script src="https://cdn.example.com/app.js"></script><a href="http://x.org/">x</a></html>'
    pairs = [(_op("/docs"), _get("/docs", response(200, page, {"Content-Type": "text/html"})))]

    assert await _run("encryption.mixed_content", pairs) == []


async def test_mixed_content_check_reports_api_links_back_to_itself_over_http() -> None:
    body = {
        "items": [],
        "next": REMOTE_HTTP + "/items?page=2",
        "homepage": "http://blog.example.org/",
    }

    found = await _run("encryption.mixed_content", [(_op(), _get("/items", response(200, body)))])

    assert [f.type_id for f in found] == ["encryption.mixed-content"]
    assert "items?page=2" in found[0].detail and "blog.example.org" not in found[0].detail


async def test_mixed_content_check_stays_quiet_on_plain_http_responses() -> None:
    page = '<script src="http://cdn.example.com/app.js"></script>'
    pairs = [
        (_op("/docs"), exchange("GET", "/docs", response(200, page, {"Content-Type": "text/html"})))
    ]

    assert await _run("encryption.mixed_content", pairs, target="http://127.0.0.1:8000") == []
