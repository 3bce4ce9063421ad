"""``middlebrick scan --webhook``: the scan's event reaches a receiver on loopback, signed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiohttp import web

from middlebrick.webhooks import HEADER, parse_event, verify
from tests.integration.test_cli import _serve
from tests.integration.twin_app import TOKEN, make_app

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]
SECRET = "whsec_cli-test-secret"


@pytest.fixture(scope="module")
def target_url() -> Iterator[str]:
    yield from _serve(make_app(vulnerable=True))


@pytest.fixture
def received() -> Iterator[tuple[str, list[tuple[bytes, str | None]]]]:
    got: list[tuple[bytes, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((await request.read(), request.headers.get(HEADER)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook/T0KEN-IN-PATH", hook)
    for base in _serve(app):
        yield f"{base}/hook/T0KEN-IN-PATH", got


def _scan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MB_HOOK_SECRET": SECRET}
    return subprocess.run(
        [*CLI, "scan", *args, "--no-color", "--no-save", "--budget", "300"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


def test_scan_posts_a_signed_scan_completed_event_without_the_scan_credentials(
    target_url: str, received: tuple[str, list[tuple[bytes, str | None]]]
) -> None:
    url, got = received
    result = _scan(
        target_url,
        "--auth",
        f"bearer:{TOKEN}",
        "--webhook",
        url,
        "--webhook-secret-env",
        "MB_HOOK_SECRET",
    )
    assert result.returncode == 0, result.stderr
    ((body, header),) = got
    verify(body, header, SECRET)
    event = parse_event(body)
    assert event.type == "scan.completed" and event.data.findings_total > 0
    assert TOKEN.encode() not in body
    assert "webhook: scan.completed delivered to http://127.0.0.1:" in result.stderr
    assert "T0KEN-IN-PATH" not in result.stdout + result.stderr


def test_scan_of_an_unreachable_target_posts_scan_failed(
    received: tuple[str, list[tuple[bytes, str | None]]],
) -> None:
    url, got = received
    result = _scan("http://127.0.0.1:9/", "--webhook", url, "--webhook-format", "slack")
    assert result.returncode == 3
    ((body, header),) = got
    assert header is None and b"failed" in body


def test_scan_refuses_a_webhook_secret_variable_that_is_not_set_before_scanning() -> None:
    result = _scan(
        "http://127.0.0.1:9/",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "--webhook-secret-env",
        "MB_NOT_SET_ANYWHERE",
    )
    assert result.returncode == 2 and "MB_NOT_SET_ANYWHERE" in result.stderr


def test_scan_refuses_a_webhook_url_that_is_not_http_without_echoing_it() -> None:
    result = _scan("http://127.0.0.1:9/", "--webhook", "file:///s3cr3t")
    assert result.returncode == 2 and "s3cr3t" not in result.stderr
    assert "--webhook needs an http:// or https:// URL" in result.stderr
