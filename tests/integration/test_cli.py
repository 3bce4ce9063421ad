"""The command line: reports, formats and the documented exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.integration.twin_app import TOKEN, make_app

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    import asyncio

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(vulnerable=True), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_scan_prints_a_summary_and_exits_0(demo_url: str) -> None:
    result = _run("scan", demo_url, "--no-color", "-H", f"Authorization: Bearer {TOKEN}")
    assert result.returncode == 0, result.stderr
    assert "Score" in result.stdout and "grade" in result.stdout
    assert "curl -i" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_scan_below_threshold_exits_1(demo_url: str) -> None:
    result = _run("scan", demo_url, "--threshold", "99", "--quiet")
    assert result.returncode == 1
    assert "below the threshold 99" in result.stderr


def test_scan_writes_a_json_report(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = _run("scan", demo_url, "--format", "json", "--output", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["target"] == demo_url and len(report["categories"]) == 12


def test_unreadable_spec_is_a_usage_error_with_exit_2(demo_url: str, tmp_path: Path) -> None:
    result = _run("scan", demo_url, "--spec", str(tmp_path / "missing.yaml"), "--quiet")
    assert result.returncode == 2
    assert "error:" in result.stderr and "missing.yaml" in result.stderr


def test_unknown_format_is_a_usage_error_with_exit_2(demo_url: str) -> None:
    result = _run("scan", demo_url, "--format", "xml")
    assert result.returncode == 2
    assert "summary" in result.stderr


def test_unreachable_target_exits_3() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = _run("scan", f"http://127.0.0.1:{port}", "--quiet", "--timeout", "10")
    assert result.returncode == 3
    assert "did not answer" in result.stderr


def test_version_prints_the_version() -> None:
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.startswith("middlebrick ")
