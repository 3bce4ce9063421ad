"""End to end on loopback: cookie flags and HSTS, one flag apart; a local target is not assessed."""

from __future__ import annotations

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding, Severity
from middlebrick.testing import LiveApp


def _app(*, vulnerable: bool) -> web.Application:
    async def login(request: web.Request) -> web.Response:
        response = web.json_response({"hello": "guest"})
        if vulnerable:
            response.headers["Set-Cookie"] = "session=abc123; Path=/"
        else:
            response.headers["Set-Cookie"] = (
                "session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax"
            )
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    app = web.Application()
    app.router.add_get("/", login)
    return app


async def _encryption(*, vulnerable: bool) -> list[Finding]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url))
    return [f for f in report.findings if f.category == "encryption"]


async def test_encryption_checks_report_the_vulnerable_twin() -> None:
    found = await _encryption(vulnerable=True)

    assert {(f.type_id, f.parameter, f.severity) for f in found} == {
        ("encryption.plain-http", None, Severity.info),
        ("encryption.hsts-missing", None, Severity.info),  # plain HTTP: not assessed
        ("encryption.cookie-missing-flags", "session", Severity.medium),
    }


async def test_encryption_checks_only_note_the_local_target_on_the_fixed_twin() -> None:
    found = await _encryption(vulnerable=False)

    assert [(f.type_id, f.severity) for f in found] == [("encryption.plain-http", Severity.info)]
