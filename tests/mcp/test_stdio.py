"""``middlebrick mcp`` end to end: the SDK's client session drives the stdio server, which scans
a tiny API on loopback in-process and keeps the report where ``middlebrick results`` finds it."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from tests.integration.test_cli import _serve
from tests.integration.twin_app import make_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def target_url() -> Iterator[str]:
    yield from _serve(make_app(vulnerable=True))


def _text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


@asynccontextmanager
async def connected(home: Path, *args: str, **env: str) -> AsyncIterator[ClientSession]:
    """A client session with ``middlebrick mcp ARGS`` run as a subprocess (in one task: the
    SDK's task groups must be entered and left by the same task, so this is not a fixture)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "middlebrick", "mcp", *args],
        env={"MIDDLEBRICK_HOME": str(home), **env},
        cwd=ROOT,
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


async def test_mcp_server_lists_the_four_tools_with_their_schemas(tmp_path: Path) -> None:
    async with connected(tmp_path) as session:
        listed = await session.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == {"scan_api", "get_scan", "list_scans", "explain_finding"}
    scan = tools["scan_api"]
    assert scan.input_schema["required"] == ["url"]
    assert set(scan.input_schema["properties"]) == {"url", "spec_url", "context", "mode"}
    assert scan.annotations is not None and scan.annotations.read_only_hint is False
    assert tools["get_scan"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert all(t.description for t in tools.values())


async def test_mcp_scan_api_scans_and_every_tool_reads_the_result(
    target_url: str, tmp_path: Path
) -> None:
    async with connected(tmp_path, "--wait", "150") as session:
        result = await session.call_tool("scan_api", {"url": target_url})
        text = _text(result)
        assert not result.is_error, text
        match = re.match(r"Scan ([0-9a-f]{32}) of (\S+): completed\.\nScore \d+/100, grade ", text)
        assert match and match.group(2) == target_url, text
        scan_id = match.group(1)
        assert "\nFindings: " in text and "\nCRITICAL\n1. " in text
        assert (tmp_path / "reports" / f"{scan_id}.json").is_file()  # what `results` reads

        again = _text(await session.call_tool("get_scan", {"scan_id": scan_id}))
        listed = _text(await session.call_tool("list_scans", {"limit": 5}))
        explained = _text(
            await session.call_tool("explain_finding", {"scan_id": scan_id, "finding": "1"})
        )
        wrong = await session.call_tool("explain_finding", {"scan_id": scan_id, "finding": "999"})
    assert again == text
    assert listed.startswith(f"{scan_id}  completed") and target_url in listed
    assert explained.startswith(f"Finding 1 of scan {scan_id}: ")
    for part in ("What it means: ", "Evidence (quoted from the target", "curl ", "How to fix it"):
        assert part in explained, explained
    assert wrong.is_error and "has no finding '999'" in _text(wrong)


async def test_mcp_scan_api_refuses_active_mode_unless_the_server_allows_it(
    target_url: str, tmp_path: Path
) -> None:
    async with connected(tmp_path) as session:
        refused = await session.call_tool("scan_api", {"url": target_url, "mode": "active"})
    assert refused.is_error and "active mode is off" in _text(refused)
    async with connected(tmp_path, "--allow-active") as session:
        allowed = await session.call_tool(
            "scan_api", {"url": "http://127.0.0.1:9/", "mode": "active"}
        )
    assert not allowed.is_error and ": failed.\nReason: " in _text(allowed)


async def test_mcp_tools_answer_bad_input_with_one_clear_sentence(tmp_path: Path) -> None:
    async with connected(tmp_path) as session:
        bad_url = await session.call_tool("scan_api", {"url": "ftp://127.0.0.1/"})
        local_spec = await session.call_tool(
            "scan_api", {"url": "http://127.0.0.1:9/", "spec_url": "/etc/passwd"}
        )
        unknown = await session.call_tool("get_scan", {"scan_id": "../../etc/passwd"})
        failed = await session.call_tool("scan_api", {"url": "http://127.0.0.1:9/"})
    assert bad_url.is_error and "is not an http(s) URL" in _text(bad_url)
    assert local_spec.is_error and "spec_url must be an http(s) URL" in _text(local_spec)
    assert unknown.is_error and "no scan" in _text(unknown)
    assert not failed.is_error and ": failed.\nReason: " in _text(failed)
