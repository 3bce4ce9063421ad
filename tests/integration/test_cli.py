"""The command line: reports, formats and the documented exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from middlebrick.errors import UsageError
from middlebrick.render import formats, is_binary
from middlebrick.render.pdf import find_chromium
from tests.chromium import chromium_or_skip
from tests.integration.twin_app import TOKEN, make_app

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    yield from _serve(make_app(vulnerable=True))


@pytest.fixture(scope="module")
def secure_url() -> Iterator[str]:
    yield from _serve(make_app(vulnerable=False))


def _serve(app: web.Application) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    import asyncio

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
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


BOB_SECRET = "bob-wrong-secret-7d1e"


@pytest.fixture(scope="module")
def secure_reports(
    secure_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, Path]]:
    """One scan of the secure twin with the credentials, written in every format at once (PDF
    only where Chromium is installed); the run and each format's file."""
    folder = tmp_path_factory.mktemp("reports")
    files = {fmt: folder / f"report.{fmt}" for fmt in formats() if not is_binary(fmt)}
    try:
        find_chromium()
        files.update({fmt: folder / f"report.{fmt}" for fmt in formats() if is_binary(fmt)})
    except UsageError:
        pass  # the binary formats' tests skip, or fail where Chromium is required
    written = [arg for fmt, file in files.items() for arg in ("--format", f"{fmt}:{file}")]
    run = _run("scan", secure_url, "--auth", f"bearer:{TOKEN}", *written, "--verbose", "--no-color")
    return run, files


@pytest.mark.parametrize("fmt", formats())
def test_scan_never_shows_the_credentials_in_any_format(
    secure_reports: tuple[subprocess.CompletedProcess[str], dict[str, Path]], fmt: str
) -> None:
    if is_binary(fmt):
        chromium_or_skip()
    result, files = secure_reports
    assert result.returncode == 0, result.stderr
    written = files[fmt].read_bytes()
    assert written, f"{fmt} report is empty"
    for secret in (TOKEN, TOKEN[:12]):
        assert secret not in result.stdout + result.stderr
        assert secret.encode() not in written


def test_scan_with_a_config_file_reads_identities_from_the_environment(
    secure_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "middlebrick.yaml"
    config.write_text("identities:\n  alice: {auth: 'bearer:${ALICE_TOKEN}'}\n")
    result = subprocess.run(
        [*CLI, "scan", secure_url, "--config", str(config), "--format", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "ALICE_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert not any("could not be verified" in note for note in report["notes"])
    assert TOKEN not in result.stdout


def test_scan_exits_2_when_the_target_rejects_an_identity(secure_url: str) -> None:
    result = _run(
        "scan",
        secure_url,
        "--quiet",
        "--identity",
        f"alice=bearer:{TOKEN}",
        "--identity",
        f"bob=bearer:{BOB_SECRET}",
    )
    assert result.returncode == 2
    assert "rejects the credentials of identity 'bob'" in result.stderr
    assert BOB_SECRET not in result.stderr and TOKEN not in result.stderr


def test_scan_exits_2_on_a_malformed_auth_profile(secure_url: str) -> None:
    result = _run("scan", secure_url, "--auth", f"token:{BOB_SECRET}")
    assert result.returncode == 2
    assert "does not start with one of bearer" in result.stderr
    assert BOB_SECRET not in result.stderr


def test_fail_on_exits_1_and_a_baseline_of_the_same_findings_lets_it_pass(
    demo_url: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    result = _run("scan", demo_url, "--quiet", "--fail-on", "medium", "-f", f"json:{first}")
    assert result.returncode == 1 and "at or above medium" in result.stderr
    result = _run("scan", demo_url, "--quiet", "--fail-on", "medium", "--baseline", str(first))
    assert result.returncode == 0, result.stderr


def test_several_formats_in_one_run_and_results_renders_a_kept_report(
    demo_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    result = _run("scan", demo_url, "--no-color", "-f", "summary", "-f", f"json:{out}")
    assert result.returncode == 0, result.stderr
    assert "Score" in result.stdout and f"json report written to {out}" in result.stdout
    scan_id = json.loads(out.read_text())["scan_id"]
    again = _run("results", scan_id[:10], "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(out.read_text())


def test_output_with_two_terminal_formats_is_a_usage_error(demo_url: str) -> None:
    result = _run("scan", demo_url, "-f", "summary", "-f", "json")
    assert result.returncode == 2 and "only one format can go to the terminal" in result.stderr


def test_diff_of_two_reports_shows_the_changes(demo_url: str, secure_url: str, tmp_path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    assert _run("scan", demo_url, "--quiet", "-f", f"json:{old}").returncode == 0
    assert _run("scan", secure_url, "--quiet", "-f", f"json:{new}").returncode == 0
    result = _run("diff", str(old), str(new))
    assert result.returncode == 0, result.stderr
    assert (
        "resolved (" in result.stdout
        and "note: the reports are of different targets" in result.stdout
    )
    assert _run("diff", str(new), str(old), "--fail-on", "low").returncode == 1


def test_junit_fails_test_cases_at_the_fail_on_level(demo_url: str, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    counts = {}
    for level in ("critical", "low"):
        out = tmp_path / f"{level}.xml"
        _run("scan", demo_url, "--quiet", "--fail-on", level, "-f", f"junit:{out}")
        counts[level] = len(ET.parse(out).getroot().findall(".//failure"))
    assert counts["low"] > counts["critical"]


@pytest.mark.parametrize(
    "raw", [f"Authorization Bearer {BOB_SECRET}", f"Host: {BOB_SECRET}.example"]
)
def test_a_bad_header_is_refused_without_echoing_it(secure_url: str, raw: str) -> None:
    result = _run("scan", secure_url, "--quiet", "-H", raw)
    assert result.returncode == 2 and "error:" in result.stderr
    assert BOB_SECRET not in result.stderr


def test_scan_exits_2_on_an_include_or_exclude_that_is_not_a_pattern(demo_url: str) -> None:
    result = _run("scan", demo_url, "--exclude", "admin", "--quiet")
    assert result.returncode == 2
    assert "--exclude 'admin' is not METHOD PATH-PATTERN or PATH-PATTERN" in result.stderr


def test_scan_never_requests_what_exclude_names_and_lists_it_as_not_tested(
    demo_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = _run("scan", demo_url, "--exclude", "GET /users/*", "-f", f"json:{out}", "--quiet")
    assert result.returncode in (0, 1), result.stderr
    skipped = json.loads(out.read_text())["skipped"]
    assert {
        "operation": "GET /users/{user_id}",
        "reason": "excluded by --exclude 'GET /users/*'",
    } in skipped
