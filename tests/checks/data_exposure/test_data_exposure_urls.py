"""Personal data and credentials in URLs and response headers, on recorded exchanges."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from middlebrick.config import Context, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Headers, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

TOKEN = "ya29.a0AfH6SMBx3k9QeW1Z7pLmQ2rT"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTIiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlX2J5dGVz"


def _pair(
    path: str,
    resp: Response,
    *,
    request_path: str | None = None,
    parameters: tuple[Parameter, ...] = (),
    request_headers: dict[str, str] | None = None,
) -> tuple[Operation, Exchange]:
    operation = Operation(method="GET", path=path, parameters=parameters)
    recorded = exchange("GET", request_path or path, resp, operation=operation.key)
    if request_headers:
        recorded = replace(
            recorded, request=replace(recorded.request, headers=Headers.of(request_headers))
        )
    return operation, recorded


async def _run(
    name: str, *pairs: tuple[Operation, Exchange], context: Context = Context.general
) -> list[Finding]:
    scan = ScanRequest(target=BASE, context=context)
    return await run_check(name, baseline=make_baseline(list(pairs)), scan=scan)


def _urls(*pairs: tuple[Operation, Exchange], **kw: Any) -> Any:
    return _run("data_exposure.sensitive_urls", *pairs, **kw)


def _headers(*pairs: tuple[Operation, Exchange], **kw: Any) -> Any:
    return _run("data_exposure.personal_headers", *pairs, **kw)


def _seen(found: list[Finding]) -> list[tuple[str, str | None, Severity]]:
    return [(f.operation, f.parameter, f.severity) for f in found]


# --- URLs the API hands out ------------------------------------------------------------------


async def test_sensitive_urls_check_reports_a_token_in_a_location_header() -> None:
    moved = response(
        302, b"", {"Location": f"https://app.example.test/home#access_token={TOKEN}&x=1"}
    )

    found = await _urls(_pair("/login/callback", moved))

    assert _seen(found) == [("GET /login/callback", "access_token", Severity.medium)]
    assert "Location header of the 302 response" in found[0].detail
    assert TOKEN not in found[0].detail  # masked: ya29.a0A…


async def test_sensitive_urls_check_reports_an_email_in_a_redirect_it_followed() -> None:
    landed = replace(
        response(200, {"welcome": True}),
        redirects=(BASE + "/welcome?email=ann%40acme.example&step=2",),
    )

    found = await _urls(_pair("/signup/confirm", landed))

    assert _seen(found) == [("GET /signup/confirm", "email", Severity.low)]
    assert "a***@acme.example" in found[0].detail and "ann@" not in found[0].detail


async def test_sensitive_urls_check_reports_an_ssn_and_a_secret_in_links_of_the_body() -> None:
    body = {
        "report": "/reports/download?ssn=332-28-5358",
        "billing": "https://pay.example.test/portal?key=sk_live_9f8e7d6c5b4a39281706f5e4",
    }

    found = await _urls(_pair("/customers/7", response(200, body)))

    assert sorted(_seen(found)) == [
        ("GET /customers/7", "key", Severity.critical),
        ("GET /customers/7", "ssn", Severity.high),
    ]
    assert all(f.evidence[0].match for f in found)  # the link is marked in the body excerpt


async def test_sensitive_urls_check_reads_html_links_with_escaped_ampersands() -> None:
    page = '<a href="/reset?user=7&amp;password=Hunter2go&amp;x=1">reset</a>'

    found = await _urls(_pair("/", response(200, page, {"Content-Type": "text/html"})))

    assert _seen(found) == [("GET /", "password", Severity.medium)]


URL_LOOK_ALIKES = [
    pytest.param({"next": f"/items?cursor={JWT}&limit=20"}, id="paging-cursor-jwt"),
    pytest.param({"next": "/items?next_token=eyJsYXN0IjoiaXRlbS0yMCJ9"}, id="next-token"),
    pytest.param({"login": f"https://idp.example.test/authorize?state={JWT}"}, id="oauth-state"),
    pytest.param(
        {
            "map": "https://maps.googleapis.com/maps/api/staticmap?key=AIza-6ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J"
        },
        id="google-browser-key",
    ),
    pytest.param(
        {"file": "https://b.s3.amazonaws.com/r.pdf?X-Amz-Credential=AKIAKWOVOMPZOM7WBBR6%2F2024"},
        id="presigned-s3-url",
    ),
    pytest.param({"help": "mailto:support@acme.example?subject=help"}, id="role-mailbox"),
    pytest.param({"self": "/tickets?ref=555-12-3456&page=2"}, id="ssn-shaped-ticket"),
    pytest.param({"docs": "https://docs.example.test/#section=auth"}, id="fragment"),
]


@pytest.mark.parametrize("body", URL_LOOK_ALIKES)
async def test_sensitive_urls_check_stays_quiet_on(body: dict[str, str]) -> None:
    assert await _urls(_pair("/items", response(200, body))) == []


async def test_sensitive_urls_check_stays_quiet_when_the_url_echoes_the_request() -> None:
    body = {"next": "/search?email=ann@acme.example&page=2"}

    found = await _urls(
        _pair("/search", response(200, body), request_path="/search?email=ann%40acme.example")
    )

    assert found == []


async def test_sensitive_urls_check_needs_context_for_an_unlabelled_ssn() -> None:
    body = {"next": "/visits?ref=332-28-5358"}

    assert await _urls(_pair("/visits", response(200, body))) == []
    medical = await _urls(_pair("/visits", response(200, body)), context=Context.medical)
    assert _seen(medical) == [("GET /visits", "ref", Severity.high)]


# --- parameters the API asks for --------------------------------------------------------------


async def test_sensitive_urls_check_reports_query_parameters_named_for_secrets_at_info() -> None:
    # A name alone: a filter named like an SSN or a key may hold anything (issue 21, class 11).
    parameters = (Parameter("ssn", "query"), Parameter("limit", "query"))
    lookup = _pair(
        "/patients/lookup",
        response(200, []),
        request_path="/patients/lookup?ssn=string&limit=10",
        parameters=parameters,
    )
    sent = _pair("/export", response(200, []), request_path="/export?api_key=x")

    found = await _urls(lookup, sent)

    assert sorted(_seen(found)) == [
        ("GET /export", "api_key", Severity.info),
        ("GET /patients/lookup", "ssn", Severity.info),
    ]
    assert "declares `ssn` as a query parameter" in found[0].detail + found[1].detail
    assert "the name alone says so" in found[0].detail


async def test_sensitive_urls_check_stays_quiet_on_ordinary_or_refused_query_parameters() -> None:
    ordinary = tuple(
        Parameter(name, "query") for name in ("limit", "q", "filter", "owner", "page_token")
    )
    quiet = _pair("/items", response(200, []), parameters=ordinary)
    refused = _pair(
        "/admin/users",
        response(401, {"error": "login"}),
        parameters=(Parameter("password", "query"),),
    )

    assert await _urls(quiet, refused) == []


# --- response headers -------------------------------------------------------------------------


async def test_personal_headers_check_reports_an_email_in_a_tracing_header() -> None:
    resp = response(200, {"ok": True}, {"X-User-Email": "ann.lee@acme.example"})

    found = await _headers(_pair("/me", resp))

    assert _seen(found) == [("GET /me", "X-User-Email", Severity.low)]
    assert "a***@acme.example (email address) in the header X-User-Email" in found[0].detail


async def test_personal_headers_check_reports_a_protocol_field_at_info() -> None:
    challenge = {"WWW-Authenticate": 'Digest realm="me@kennethreitz.com", nonce="abc"'}

    found = await _headers(_pair("/digest-auth", response(401, {}, challenge)))

    assert _seen(found) == [("GET /digest-auth", "WWW-Authenticate", Severity.info)]
    assert "protocol field" in found[0].detail


async def test_personal_headers_check_reports_a_value_constant_across_operations_at_info() -> None:
    header = {"X-Contact": "ann.lee@acme.example"}

    found = await _headers(
        _pair("/a", response(200, {}, header)), _pair("/b", response(200, {}, header))
    )

    assert _seen(found) == [
        ("GET /a", "X-Contact", Severity.info),
        ("GET /b", "X-Contact", Severity.info),
    ]


async def test_personal_headers_check_reports_an_ssn_at_the_severity_it_has_in_a_body() -> None:
    resp = response(200, {}, {"X-Customer-SSN": "332-28-5358"})

    found = await _headers(_pair("/customers/7", resp))

    assert [(f.parameter, f.severity, f.confidence) for f in found] == [
        ("X-Customer-SSN", Severity.high, Confidence.firm)
    ]
    assert "***-**-5358" in found[0].detail and "332-28" not in found[0].detail


async def test_personal_headers_check_needs_context_for_an_unlabelled_ssn() -> None:
    resp = response(200, {}, {"X-Ref": "332-28-5358"})

    assert await _headers(_pair("/visits", resp)) == []
    medical = await _headers(_pair("/visits", resp), context=Context.medical)
    assert [(f.parameter, f.confidence) for f in medical] == [("X-Ref", Confidence.tentative)]


async def test_personal_headers_check_stays_quiet_on_ordinary_and_other_checks_headers() -> None:
    headers = [
        ("X-Request-Id", "123456789"),
        ("X-RateLimit-Reset", "1700000000"),
        ("X-Contact", "support@acme.example"),
        ("Set-Cookie", "last_user=ann@acme.example; Path=/"),
        ("Location", "/welcome?email=ann@acme.example"),
        ("X-Order-Id", "4111111111111111"),
    ]

    assert await _headers(_pair("/items", response(200, [], headers))) == []


async def test_personal_headers_check_stays_quiet_when_the_header_echoes_the_request() -> None:
    resp = response(200, {}, {"X-Echo-Email": "ann@acme.example"})
    pair = _pair("/items", resp, request_headers={"X-Forwarded-Email": "ann@acme.example"})

    assert await _headers(pair) == []


async def test_url_and_header_checks_send_no_requests() -> None:
    sender = FakeSender()
    pair = _pair("/me", response(200, {}, {"X-User-Email": "ann@acme.example"}))
    for name in ("data_exposure.sensitive_urls", "data_exposure.personal_headers"):
        await run_check(name, baseline=make_baseline([pair]), sender=sender)

    assert sender.sent == []
