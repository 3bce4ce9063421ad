"""The MCP server's remote back-end against the real service: submit, wait, read and list."""

from __future__ import annotations

import pytest

from middlebrick.mcp.remote import RemoteBackend
from middlebrick.mcp.views import ScanOrder
from tests.server.conftest import Running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mcp_remote_backend_drives_the_service(service: Running, vulnerable_url: str) -> None:
    backend = RemoteBackend(service.url, service.a.key, poll=0.3)
    queued = await backend.submit(ScanOrder(url=vulnerable_url))
    done = await backend.wait(queued.id, timeout=120)
    assert done.status == "completed" and done.id == queued.id
    assert done.score is not None and done.grade
    assert done.findings and all(f.evidence for f in done.findings if f.severity == "critical")
    listed = await backend.list(50, "completed")
    assert queued.id in {view.id for view in listed}
    foreign = RemoteBackend(service.url, service.b.key)
    with pytest.raises(Exception, match="no scan"):
        await foreign.get(queued.id)
