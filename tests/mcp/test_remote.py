"""``middlebrick mcp --server``: the tools as a thin client of the service's REST API, tested
against a fake of its scan routes (``POST /api/v1/scans``, ``GET /api/v1/scans/{id}``,
``GET /api/v1/scans``, ``GET /api/v1/scans/{id}/report.json``) on loopback, answering in the
shapes of the service's ``ScanAccepted``, ``ScanOut`` and ``ScanPage``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from mcp import Client
from mcp.types import CallToolResult, TextContent

from middlebrick.mcp import RemoteBackend, build_server
from tests.mcp.test_stdio import connected
from tests.render.sample import sample_report
from tests.webhooks.test_delivery import _serve

KEY = "mbk_test-api-key-0123456789"


def _text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


@dataclass
class FakeService:
    """The service's scan routes: a scan is running on its first read and completed after."""

    base: str = ""
    posted: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    reads: int = 0
    serve_report: bool = True

    def completed(self) -> dict[str, Any]:
        report = json.loads(sample_report().model_dump_json())
        keys = ("fingerprint", "type_id", "category", "severity", "confidence", "operation")
        return {
            "id": "scan-7",
            "status": "completed",
            "target": "http://127.0.0.1:8080/",
            "score": report["score"],
            "grade": report["grade"],
            "progress": 100,
            "phase": "done",
            "reason": None,
            "coverage": {"operations": 12, "requests": 231, "complete": False},
            "categories": {
                c["id"]: {"score": c["score"], "status": c["status"], "findings": c["findings"]}
                for c in report["categories"]
            },
            "findings": [
                {**{k: f[k] for k in keys}, "title": f["title"]} for f in report["findings"]
            ],
            "unknown_later_field": {"x": 1},
        }

    def app(self) -> web.Application:
        def problem(status: int, detail: str) -> web.Response:
            body = {"title": "error", "status": status, "detail": detail}
            return web.json_response(body, status=status, content_type="application/problem+json")

        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.headers.get("X-API-Key") != KEY:
                return problem(401, "invalid API key")
            return await handler(request)

        async def create(request: web.Request) -> web.Response:
            self.posted.append(await request.json())
            return web.json_response({"id": "scan-7", "status": "queued"}, status=202)

        async def read(request: web.Request) -> web.Response:
            if request.match_info["id"] != "scan-7":
                return problem(404, "no such scan")
            self.reads += 1
            if self.reads == 1:
                return web.json_response({"id": "scan-7", "status": "running", "progress": 40})
            return web.json_response(self.completed())

        async def report(request: web.Request) -> web.Response:
            if not self.serve_report or request.match_info["id"] != "scan-7":
                return problem(404, "no such report")
            report = sample_report().model_copy(update={"scan_id": "scan-7"})
            return web.Response(body=report.model_dump_json(), content_type="application/json")

        async def listing(request: web.Request) -> web.Response:
            self.queries.append(dict(request.query))
            return web.json_response({"items": [self.completed()], "total": 1})

        app = web.Application(middlewares=[auth])
        app.router.add_post("/api/v1/scans", create)
        app.router.add_get("/api/v1/scans/{id}", read)
        app.router.add_get("/api/v1/scans/{id}/report.json", report)
        app.router.add_get("/api/v1/scans", listing)
        return app


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    fake = FakeService()
    runner, fake.base = await _serve(fake.app())
    yield fake
    await runner.cleanup()


async def test_mcp_with_server_submits_waits_and_reads_through_the_rest_api(
    service: FakeService, tmp_path: Path
) -> None:
    async with connected(tmp_path, "--server", service.base, MIDDLEBRICK_API_KEY=KEY) as session:
        scanned = _text(await session.call_tool("scan_api", {"url": "http://127.0.0.1:8080/"}))
        listed = _text(await session.call_tool("list_scans", {"limit": 3, "status": "completed"}))
        explained = _text(
            await session.call_tool("explain_finding", {"scan_id": "scan-7", "finding": "1"})
        )
    assert service.posted == [
        {"url": "http://127.0.0.1:8080/", "context": "general", "mode": "safe"}
    ]
    report = sample_report()
    assert scanned.startswith("Scan scan-7 of http://127.0.0.1:8080/: completed.\n")
    assert f"Score {report.score}/100, grade {report.grade} (partial scan" in scanned
    assert f"Findings: {len(report.findings)} (" in scanned and "\nCRITICAL\n1. " in scanned
    assert service.queries == [{"limit": "3", "status": "completed"}]
    assert listed.startswith("scan-7  completed http://127.0.0.1:8080/ score")
    assert explained.startswith("Finding 1 of scan scan-7: ")
    assert "How to fix it (flask): " in explained and "Evidence (quoted" in explained
    assert not list(tmp_path.glob("reports/*"))  # nothing is kept locally in remote mode


async def test_mcp_with_server_reads_the_status_answer_when_there_is_no_report(
    service: FakeService,
) -> None:
    service.serve_report, service.reads = False, 1
    async with Client(build_server(RemoteBackend(service.base, KEY))) as client:
        scanned = _text(await client.call_tool("get_scan", {"scan_id": "scan-7"}))
        explained = _text(
            await client.call_tool("explain_finding", {"scan_id": "scan-7", "finding": "2"})
        )
    assert scanned.startswith("Scan scan-7 of http://127.0.0.1:8080/: completed.\n")
    assert "(partial scan: see the notes)" in scanned and "\nCRITICAL\n1. " in scanned
    assert explained.startswith("Finding 2 of scan scan-7: ")
    assert "How to fix it: " in explained and "Evidence" not in explained


async def test_mcp_with_server_reports_a_running_scan_by_its_id(service: FakeService) -> None:
    async with Client(build_server(RemoteBackend(service.base, KEY), wait=1)) as client:
        result = await client.call_tool("scan_api", {"url": "http://127.0.0.1:8080/"})
    text = _text(result)
    assert text.startswith("Scan scan-7 of http://127.0.0.1:8080/: running (40% done).")
    assert 'call get_scan with scan_id="scan-7"' in text


async def test_mcp_with_server_says_clearly_what_went_wrong(service: FakeService) -> None:
    wrong_key = build_server(RemoteBackend(service.base, "mbk_wrong-key"))
    async with Client(wrong_key) as client:
        refused = await client.call_tool("get_scan", {"scan_id": "scan-7"})
    assert refused.is_error and "refused the API key (HTTP 401)" in _text(refused)
    assert "mbk_wrong-key" not in _text(refused)
    async with Client(build_server(RemoteBackend(service.base, KEY))) as client:
        missing = await client.call_tool("get_scan", {"scan_id": "../admin"})
    assert missing.is_error and "no scan '../admin' on the middlebrick server" in _text(missing)
    async with Client(build_server(RemoteBackend("http://127.0.0.1:9", KEY))) as client:
        down = await client.call_tool("list_scans", {})
    assert down.is_error and "cannot reach the middlebrick server" in _text(down)


async def test_mcp_with_server_does_not_follow_a_redirect_with_the_api_key(
    service: FakeService,
) -> None:
    app = web.Application()

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{service.base}/api/v1/scans")

    app.router.add_get("/api/v1/scans", moved)
    runner, base = await _serve(app)
    try:
        async with Client(build_server(RemoteBackend(base, KEY))) as client:
            result = await client.call_tool("list_scans", {})
    finally:
        await runner.cleanup()
    assert result.is_error and "HTTP 302" in _text(result) and service.queries == []


def test_remote_backend_refuses_a_server_that_is_not_http_and_a_missing_key() -> None:
    from middlebrick.errors import UsageError

    with pytest.raises(UsageError, match="http"):
        RemoteBackend("file:///tmp/x", KEY)
    with pytest.raises(UsageError, match="API key"):
        RemoteBackend("http://127.0.0.1:8080", "")
