"""MCP and the real service: the remote back-end of ``middlebrick mcp --server`` (submit, wait,
read, list), and the streamable-HTTP endpoint ``/mcp`` of ``serve`` driven by the SDK's client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

from middlebrick.mcp.remote import RemoteBackend
from middlebrick.mcp.views import ScanOrder
from tests.server.conftest import Running, make_org


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mcp_remote_backend_drives_the_service(service: Running, vulnerable_url: str) -> None:
    backend = RemoteBackend(service.url, service.a.key, poll=0.3)
    queued = await backend.submit(ScanOrder(url=vulnerable_url))
    done = await backend.wait(queued.id, timeout=120)
    assert done.status == "completed" and done.id == queued.id
    assert done.score is not None and done.grade
    assert done.findings and all(f.evidence for f in done.findings if f.severity == "critical"), (
        done.notes
    )
    listed = await backend.list(50, "completed")
    assert queued.id in {view.id for view in listed}
    foreign = RemoteBackend(service.url, service.b.key)
    with pytest.raises(Exception, match="no scan"):
        await foreign.get(queued.id)


@asynccontextmanager
async def _session(service: Running, key: str) -> AsyncIterator[ClientSession]:
    """The SDK's client session on the service's /mcp over streamable HTTP, with an API key."""
    http = create_mcp_http_client(headers={"X-API-Key": key})
    async with (
        http,
        streamable_http_client(f"{service.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mcp_under_serve_scans_in_the_key_s_organisation(
    service: Running, vulnerable_url: str
) -> None:
    async with _session(service, service.a.key) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == {"scan_api", "get_scan", "list_scans", "explain_finding"}
        scanned = await session.call_tool("scan_api", {"url": vulnerable_url})
        summary = _text(scanned)
        assert not scanned.is_error, summary
        scan_id = re.search(r"Scan ([0-9a-f]{32}) of", summary).group(1)  # type: ignore[union-attr]
        assert "completed" in summary and "Score " in summary and "CRITICAL" in summary
        explained = _text(
            await session.call_tool("explain_finding", {"scan_id": scan_id, "finding": "1"})
        )
        assert "curl " in explained and scan_id[:12] in explained
        listed = _text(await session.call_tool("list_scans", {"limit": 5}))
        assert scan_id in listed
    with service.client(service.a) as http:
        assert http.get(f"/api/v1/scans/{scan_id}").json()["status"] == "completed"
    async with _session(service, service.b.key) as other:
        foreign = await other.call_tool("get_scan", {"scan_id": scan_id})
        assert foreign.is_error and "no scan" in _text(foreign)
        assert scan_id not in _text(await other.call_tool("list_scans", {"limit": 100}))
    unverified = make_org(service.repo, "McpUnverified", verified=())
    async with _session(service, unverified.key) as session:
        active = await session.call_tool("scan_api", {"url": vulnerable_url, "mode": "active"})
    assert active.is_error and "need a verified domain" in _text(active)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_mcp_under_serve_refuses_a_request_without_a_live_key(service: Running) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    for key in (None, "mb_revoked-or-never-made"):
        sent = {**headers, **({"X-API-Key": key} if key else {})}
        response = httpx.post(f"{service.url}/mcp", json=body, headers=sent, timeout=30)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
