"""CORS on recorded answers: reflected, null and wildcard origins; allow-lists stay quiet."""

from __future__ import annotations

from typing import Any

from middlebrick.config import Credential, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.cors"
BEARER = ({"bearer": ()},)


def cors_api(
    *, allow: Any, credentials: bool = True, preflight_only: bool = False, cookie: bool = True
) -> Any:
    """Answers with ``Access-Control-Allow-Origin`` for the origins ``allow(origin)`` accepts;
    with ``cookie`` every answer also sets a session cookie (cookie authentication)."""

    def answer(request: Request) -> Response:
        origin = request.headers.get("Origin")
        headers: dict[str, str] = {"Set-Cookie": "session=s1; HttpOnly"} if cookie else {}
        plain = request.method != "OPTIONS"
        if origin is not None and allow(origin) and not (preflight_only and plain):
            headers["Access-Control-Allow-Origin"] = origin
            if credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
        if not plain:
            return response(204, b"", headers)
        return response(200, [{"id": 1}], headers)

    return answer


async def _run(sender: Any) -> list[Finding]:
    op = Operation(method="GET", path="/orders", security=BEARER)
    pair = (op, exchange("GET", "/orders", sender.answer(Request("GET", BASE + "/orders"))))
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)


async def test_cors_reports_any_origin_reflected_with_credentials(api: Any) -> None:
    sender = api(cors_api(allow=lambda origin: True))

    found = await _run(sender)

    by_id = {f.type_id: f for f in found}
    assert set(by_id) == {
        "input_validation.cors-reflected-origin",
        "input_validation.cors-null-origin",
    }
    reflected = by_id["input_validation.cors-reflected-origin"]
    assert reflected.severity == Severity.high and reflected.confidence == Confidence.confirmed
    assert [e.label for e in reflected.evidence] == ["baseline", "probe", "control"]
    origins = [request.headers.get("Origin") for request in sender.sent]
    assert origins == [
        "https://mbzq-cors-probe.example",
        "https://mbzq-cors-control.example",
        "null",
    ]


async def test_cors_reports_a_reflection_with_credentials_low_when_auth_is_a_header(
    api: Any,
) -> None:
    # Starlette's allow_origins=["*"] with allow_credentials=True on a bearer-token API: the
    # browser never attaches the Authorization header to a foreign page's request.
    found = await _run(api(cors_api(allow=lambda origin: True, cookie=False)))

    assert {(f.type_id, f.severity) for f in found} == {
        ("input_validation.cors-reflected-origin", Severity.low),
        ("input_validation.cors-null-origin", Severity.low),
    }
    assert all("never attaches a header credential" in f.detail for f in found)


async def test_cors_reports_a_reflection_with_credentials_high_when_an_identity_is_a_cookie(
    api: Any,
) -> None:
    scan = ScanRequest(
        target=BASE, identities={"alice": Credential(headers=(("Cookie", "sid=a"),))}
    )
    sender = api(cors_api(allow=lambda origin: origin != "null", cookie=False))
    op = Operation(method="GET", path="/orders", security=BEARER)
    pair = (op, exchange("GET", "/orders", sender.answer(Request("GET", BASE + "/orders"))))

    found = await run_check(CHECK, baseline=make_baseline([pair]), sender=sender, scan=scan)

    assert [(f.type_id, f.severity) for f in found] == [
        ("input_validation.cors-reflected-origin", Severity.high)
    ]
    assert "sends the user's cookies" in found[0].detail


async def test_cors_reports_a_reflected_origin_without_credentials_at_info(api: Any) -> None:
    # Jupyter Server's shape: the browser sends no credentials, so nothing private is readable.
    found = await _run(api(cors_api(allow=lambda origin: origin != "null", credentials=False)))

    assert [(f.type_id, f.severity) for f in found] == [
        ("input_validation.cors-reflected-origin", Severity.info)
    ]
    assert "reads only what an anonymous request reads" in found[0].detail


async def test_cors_reports_a_reflection_that_only_the_preflight_shows(api: Any) -> None:
    found = await _run(api(cors_api(allow=lambda origin: origin != "null", preflight_only=True)))

    assert [f.type_id for f in found] == ["input_validation.cors-reflected-origin"]
    assert found[0].evidence[1].request.method == "OPTIONS"


async def test_cors_reports_the_wildcard(api: Any) -> None:
    def wildcard(request: Request) -> Response:
        return response(200, [{"id": 1}], {"Access-Control-Allow-Origin": "*"})

    found = await _run(api(wildcard))

    assert [(f.type_id, f.severity) for f in found] == [
        ("input_validation.cors-wildcard-origin", Severity.info)
    ]


async def test_cors_stays_quiet_when_only_listed_origins_are_allowed(api: Any) -> None:
    found = await _run(api(cors_api(allow=lambda origin: origin == "https://app.example.com")))

    assert found == []


async def test_cors_stays_quiet_when_one_fixed_origin_is_always_sent(api: Any) -> None:
    def fixed(request: Request) -> Response:
        return response(200, [], {"Access-Control-Allow-Origin": "https://app.example.com"})

    assert await _run(api(fixed)) == []
