"""End to end: the engine gives the Filter its scan facts, and the evidence rules decide.

One small API whose spec declares bearer security everywhere: a catalogue that is public by
design (anonymous and authenticated answers are equal and name nobody), a vault that answers
anonymously with a secret (private by nature), and the caller's own ``/me`` record (in a
wrapper object, as Flask-AppBuilder answers).
"""

from __future__ import annotations

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding, Severity
from middlebrick.report import Report
from middlebrick.testing import LiveApp

TOKEN = "alice-token-for-the-filter-tests-0001"
DECLARED = "authentication.declared-not-enforced"

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "filter", "version": "1.0.0"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        path: {"get": {"responses": {"200": {"description": "ok"}}}}
        for path in ("/catalog", "/vault", "/me")
    },
}
CATALOG = [{"id": 1, "name": "Widget", "price": 4}, {"id": 2, "name": "Gadget", "price": 7}]
VAULT = {"service": "billing", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLQ"}
ME = {"id": 2, "username": "alice", "email": "alice.liddell@wonder.example", "is_staff": True}


def make_app() -> web.Application:
    """Catalogue and vault answer anyone; ``/me`` answers only alice's token."""

    async def catalog(request: web.Request) -> web.Response:
        return web.json_response(CATALOG)

    async def vault(request: web.Request) -> web.Response:
        return web.json_response(VAULT)

    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "authentication required"}, status=401)
        return web.json_response({"result": ME})  # a wrapper, as Flask-AppBuilder answers

    async def spec(request: web.Request) -> web.Response:
        return web.json_response(SPEC)

    app = web.Application()
    app.router.add_get("/catalog", catalog)
    app.router.add_get("/vault", vault)
    app.router.add_get("/me", me)
    app.router.add_get("/openapi.json", spec)
    return app


_REPORTS: list[Report] = []


async def _scan() -> Report:
    """The scan of the app, made once for this module: the tests read the same report."""
    if _REPORTS:
        return _REPORTS[0]
    async with LiveApp(make_app()) as url:
        auth = (("Authorization", f"Bearer {TOKEN}"),)
        report = await scan(
            ScanRequest(
                target=url,
                spec=f"{url}/openapi.json",
                headers=auth,
                identities={"alice": Credential(headers=auth)},
            )
        )
    _REPORTS.append(report)
    return report


def _on(report: Report, type_id: str, operation: str) -> Finding:
    return next(f for f in report.findings if f.type_id == type_id and operation in f.operations())


async def test_scan_keeps_a_public_catalogue_at_info_and_a_leaking_vault_high() -> None:
    report = await _scan()

    public = _on(report, "inventory.declared-auth-not-required", "GET /catalog")
    vault = _on(report, DECLARED, "GET /vault")

    assert (public.severity, public.category) == (Severity.info, "inventory")
    assert "[public-by-design: spec/runtime mismatch" in public.detail
    assert vault.severity is Severity.high
    assert "private by nature" in vault.detail


async def test_scan_keeps_the_callers_own_record_out_of_the_exposures() -> None:
    report = await _scan()

    loud_on_me = [
        (f.type_id, f.severity.value)
        for f in report.findings
        if "GET /me" in f.operations() and f.severity is not Severity.info
    ]

    assert loud_on_me == []
