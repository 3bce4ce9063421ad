"""Authentication checks: declared security, 401 hygiene, security headers; vulnerable and fixed."""

from __future__ import annotations

from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request, Response
from middlebrick.spec.model import ApiSpec, Operation, SecurityScheme, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

TOKEN_SCAN = ScanRequest(target=BASE, headers=(("Authorization", "Bearer t0ken"),))
BEARER = ({"bearer": ()},)
USERS = [{"id": "u-1", "name": "Alice"}, {"id": "u-2", "name": "Bob"}]
DENY = response(401, {"detail": "authentication required"}, {"WWW-Authenticate": "Bearer"})


def _op(path: str, *, security: Any = BEARER, method: str = "GET") -> Operation:
    return Operation(method=method, path=path, security=security)


def _pair(op: Operation, resp: Response) -> tuple[Operation, Exchange]:
    return op, exchange(op.method, op.path, resp, operation=op.key)


def _anonymous_routes(routes: dict[str, Response]) -> FakeSender:
    """A sender whose answers depend on the path; it records the identity of each request."""
    return FakeSender({("GET", path): resp for path, resp in routes.items()})


async def _declared(
    pairs: list[tuple[Operation, Exchange]],
    sender: FakeSender,
    *,
    scan: ScanRequest = TOKEN_SCAN,
    schemes: tuple[str, ...] = ("bearer",),
) -> list[Finding]:
    baseline = make_baseline(pairs)
    spec = ApiSpec(
        source="openapi.json",
        spec_version="3.0.3",
        operations=tuple(baseline.operations.values()),
        security_schemes={name: SecurityScheme(name, "http", "bearer") for name in schemes},
    )
    surface = Surface(base_url=BASE, operations=spec.operations, spec=spec)
    return await run_check(
        "authentication.declared_security",
        baseline=baseline,
        sender=sender,
        scan=scan,
        surface=surface,
    )


# --- declared-not-enforced and scheme-not-enforced ---------------------------------------------


async def test_declared_security_check_reports_operation_answering_without_credentials() -> None:
    users = _op("/users")
    sender = _anonymous_routes({"/users": response(200, USERS)})

    found = await _declared([_pair(users, response(200, USERS))], sender)

    declared = [f for f in found if f.type_id == "authentication.declared-not-enforced"]
    assert [(f.operation, f.confidence) for f in declared] == [("GET /users", Confidence.confirmed)]
    assert [e.label for e in declared[0].evidence] == ["anonymous", "baseline"]
    assert [r.identity for r in sender.sent] == [ANONYMOUS]


async def test_declared_security_check_stays_quiet_when_anonymous_request_gets_401() -> None:
    users = _op("/users")
    sender = _anonymous_routes({"/users": DENY})

    assert await _declared([_pair(users, response(200, USERS))], sender) == []


async def test_declared_security_check_stays_quiet_on_a_login_page_served_with_200() -> None:
    login = response(
        200,
        '<html><form action="/login"><input type="password" name="pw"></form></html>',
        {"Content-Type": "text/html"},
    )
    page = response(
        200,
        "<html><h1>Dashboard</h1>" + "<p>row</p>" * 50 + "</html>",
        {"Content-Type": "text/html"},
    )

    found = await _declared(
        [_pair(_op("/dashboard"), page)], _anonymous_routes({"/dashboard": login})
    )

    assert found == []


async def test_declared_security_check_stays_quiet_on_a_small_unauthorized_body() -> None:
    denial = response(200, {"error": "Unauthorized", "code": 40101})

    found = await _declared(
        [_pair(_op("/users"), response(200, USERS))], _anonymous_routes({"/users": denial})
    )

    assert found == []


async def test_declared_security_check_stays_quiet_when_anonymous_content_differs() -> None:
    found = await _declared(
        [_pair(_op("/users"), response(200, USERS))],
        _anonymous_routes({"/users": response(200, [])}),
    )

    assert found == []


async def test_declared_security_check_reports_from_the_baseline_without_scan_credentials() -> None:
    sender = FakeSender()

    found = await _declared(
        [_pair(_op("/users"), response(200, USERS))], sender, scan=ScanRequest(target=BASE)
    )

    assert {(f.type_id, f.confidence) for f in found} == {
        ("authentication.declared-not-enforced", Confidence.firm),
        ("authentication.scheme-not-enforced", Confidence.firm),
    }
    assert sender.sent == []


async def test_declared_security_check_never_probes_public_or_unsafe_operations() -> None:
    pairs = [
        _pair(_op("/health", security=()), response(200, {"ok": True})),
        _pair(_op("/users", method="POST"), response(201, {"id": "u-3"})),
    ]
    sender = FakeSender()

    assert await _declared(pairs, sender) == []
    assert sender.sent == []


async def test_scheme_check_reports_a_scheme_that_no_tested_operation_enforces() -> None:
    pairs = [_pair(_op("/users"), response(200, USERS)), _pair(_op("/me"), response(200, USERS[0]))]
    sender = _anonymous_routes({"/users": response(200, USERS), "/me": response(200, USERS[0])})

    found = await _declared(pairs, sender, schemes=("bearer", "apiKey"))

    schemes = [
        (f.operation, f.parameter)
        for f in found
        if f.type_id == "authentication.scheme-not-enforced"
    ]
    assert schemes == [("*", "bearer")]  # apiKey protects no tested operation


async def test_scheme_check_stays_quiet_when_one_operation_enforces_the_scheme() -> None:
    pairs = [_pair(_op("/users"), response(200, USERS)), _pair(_op("/me"), response(200, USERS[0]))]
    sender = _anonymous_routes({"/users": response(200, USERS), "/me": DENY})

    found = await _declared(pairs, sender)

    assert [f.type_id for f in found] == ["authentication.declared-not-enforced"]


# --- missing-www-authenticate ------------------------------------------------------------------


async def test_www_authenticate_check_reports_401_without_the_header() -> None:
    bare = response(401, {"detail": "no"})
    sender = _anonymous_routes({"/users": bare, "/me": bare})
    pairs = [_pair(_op("/users"), response(200, USERS)), _pair(_op("/me"), response(200, USERS[0]))]

    found = await _declared(pairs, sender)

    assert [(f.type_id, f.operation) for f in found] == [
        ("authentication.missing-www-authenticate", "*")
    ]
    assert "`GET /users`, `GET /me`" in found[0].detail


async def test_www_authenticate_check_reads_401s_of_the_baseline_too() -> None:
    found = await _declared(
        [_pair(_op("/admin", security=()), response(401, {"detail": "no"}))], FakeSender()
    )

    assert [f.type_id for f in found] == ["authentication.missing-www-authenticate"]


async def test_www_authenticate_check_stays_quiet_when_401_names_the_scheme() -> None:
    sender = _anonymous_routes({"/users": DENY})

    assert await _declared([_pair(_op("/users"), response(200, USERS))], sender) == []


# --- missing-security-headers --------------------------------------------------------------------


async def _headers_check(*responses: Response) -> list[Finding]:
    pairs = [_pair(_op(f"/r{i}", security=()), resp) for i, resp in enumerate(responses)]
    return await run_check("authentication.security_headers", baseline=make_baseline(pairs))


async def test_security_headers_check_reports_each_missing_header_once_for_the_target() -> None:
    found = await _headers_check(response(200, {}), response(404, {}), response(200, {}))

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("authentication.missing-security-headers", "*", "X-Content-Type-Options"),
        ("authentication.missing-security-headers", "*", "X-Frame-Options"),
    ]
    assert found[0].detail.startswith("3 of 3 responses lack X-Content-Type-Options")


async def test_security_headers_check_stays_quiet_when_nosniff_and_deny_are_sent() -> None:
    hardened = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}

    assert await _headers_check(response(200, {}, hardened), response(404, {}, hardened)) == []


async def test_security_headers_check_accepts_csp_frame_ancestors_instead_of_x_frame_options() -> (
    None
):
    csp = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "frame-ancestors 'none'"}

    assert await _headers_check(response(200, {}, csp)) == []


async def test_security_headers_check_names_only_the_responses_that_lack_a_header() -> None:
    good = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"}

    found = await _headers_check(
        response(200, {}, good), response(200, {}, {"X-Frame-Options": "DENY"})
    )

    assert [(f.parameter, f.detail.split(";")[0]) for f in found] == [
        (
            "X-Content-Type-Options",
            "1 of 2 responses lack X-Content-Type-Options (nosniff), e.g. `GET /r1`",
        )
    ]


async def test_security_headers_check_reports_hardening_without_impact_at_info() -> None:
    # Typed JSON answers and no cross-site cookie: nothing to sniff, a frame loads logged out.
    lax = {"Content-Type": "text/html", "Set-Cookie": "sessionid=abc; HttpOnly; SameSite=Lax"}
    found = await _headers_check(response(200, {}), response(200, "<form></form>", lax))

    assert [(f.parameter, f.severity) for f in found] == [
        ("X-Content-Type-Options", Severity.info),
        ("X-Frame-Options", Severity.info),
    ]
    assert "hardening only" in found[0].detail


async def test_security_headers_check_reports_an_untyped_body_above_info() -> None:
    found = await _headers_check(response(200, b"<b>hello</b>"))

    assert [(f.parameter, f.severity) for f in found if f.severity != Severity.info] == [
        ("X-Content-Type-Options", Severity.low)
    ]


async def test_security_headers_check_reports_a_framable_form_with_a_cross_site_cookie() -> None:
    page = {"Content-Type": "text/html", "Set-Cookie": "sid=abc; Secure; SameSite=None"}
    found = await _headers_check(response(200, "<form method=post></form>", page))

    assert [(f.parameter, f.severity) for f in found] == [
        ("X-Content-Type-Options", Severity.info),
        ("X-Frame-Options", Severity.low),
    ]
    assert "SameSite=None" in found[1].detail


async def test_declared_security_check_sends_at_most_one_request_per_operation() -> None:
    ops = [_op(f"/items/{i}") for i in range(5)]
    pairs = [_pair(op, response(200, USERS)) for op in ops]
    counted: list[Request] = []

    def answer(request: Request) -> Response:
        counted.append(request)
        return response(200, USERS)

    sender = FakeSender({("GET", op.path): answer for op in ops})

    await _declared(pairs, sender)

    assert len(counted) == len(ops)
