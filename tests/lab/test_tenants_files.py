"""The tenants service's asset traversal, headers and rate limiting, and the twin's fixes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.runner import REPO_ROOT, Target
from lab.tenants.assets import PASSWD_SIGNATURE, FakeRoot

pytestmark = pytest.mark.lab

TRAVERSALS = [
    "..%2f..%2f..%2fetc%2fpasswd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2fetc%2fpasswd",
    "../../../etc/passwd",
]
SECURITY_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options")


@pytest.fixture(scope="module")
def vulnerable(lab: Any) -> Target:
    """The vulnerable tenants service."""
    target: Target = lab.target("tenants", "vulnerable")
    return target


@pytest.fixture(scope="module")
def secure(lab: Any) -> Target:
    """The secure tenants twin."""
    target: Target = lab.target("tenants", "secure")
    return target


@pytest.fixture()
def root() -> Iterator[FakeRoot]:
    """A fresh fake filesystem root, removed afterwards."""
    fake = FakeRoot()
    try:
        yield fake
    finally:
        fake.cleanup()


# --- the fake root itself (no server) ---------------------------------------------------


def test_fake_root_keeps_even_deep_traversals_inside_the_lab_folder(root):
    escaped = root.vulnerable_path("../" * 12 + "etc/passwd")
    absolute = root.vulnerable_path("/etc/passwd")
    assert escaped == absolute == root.path / "etc" / "passwd"
    assert escaped.read_text().startswith(PASSWD_SIGNATURE)
    assert escaped.is_relative_to(root.path)


def test_fake_root_secure_path_refuses_everything_outside_the_asset_folder(root):
    assert root.secure_path("logo.svg") == root.asset_dir / "logo.svg"
    assert root.secure_path("../config/settings.env") is None
    assert root.secure_path("/etc/passwd") is None
    assert root.secure_path("..") is None


def test_fake_root_cleanup_removes_the_folder():
    fake = FakeRoot()
    fake.cleanup()
    assert not Path(fake.path).exists()


def test_fake_root_sweeps_the_folders_of_processes_that_are_gone(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = tmp_path / f"lab-tenants-{finished.stdout.strip()}-abc"
    live = tmp_path / f"lab-tenants-{os.getpid()}-def"
    stale.mkdir()
    live.mkdir()
    fake = FakeRoot()
    try:
        assert not stale.exists()
        assert live.exists()
        assert fake.path.parent == tmp_path.resolve()
    finally:
        fake.cleanup()


# --- over HTTP --------------------------------------------------------------------------


def test_both_variants_serve_a_plain_asset(vulnerable, secure, http):
    for target in (vulnerable, secure):
        reply = http("GET", f"{target.url}/assets/logo.svg")
        assert reply.status == 200
        assert reply.header("Content-Type") == "image/svg+xml"
        assert reply.text.startswith("<svg")


@pytest.mark.parametrize("name", TRAVERSALS)
def test_vulnerable_asset_path_walks_out_to_the_fake_passwd(vulnerable, http, name):
    reply = http("GET", f"{vulnerable.url}/assets/{name}")
    assert reply.status == 200
    assert reply.text.startswith(PASSWD_SIGNATURE)


def test_vulnerable_asset_path_reaches_the_sibling_config_folder(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/assets/..%2fconfig%2fsettings.env")
    assert reply.status == 200
    assert "DJANGO_SETTINGS_MODULE" in reply.text


def test_vulnerable_missing_asset_shows_djangos_technical_404(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/assets/missing.png")
    assert reply.status == 404
    assert "DEBUG = True" in reply.text


@pytest.mark.parametrize("name", [*TRAVERSALS, "..%2fconfig%2fsettings.env", "missing.png"])
def test_secure_asset_path_stays_inside_the_asset_folder(secure, http, name):
    reply = http("GET", f"{secure.url}/assets/{name}")
    assert reply.status == 404
    assert reply.json() == {"error": "not found"}


# --- headers and rate limiting ----------------------------------------------------------


def test_vulnerable_responses_carry_no_security_or_rate_limit_headers(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/members", token=vulnerable.tokens["alice"])
    for name in (*SECURITY_HEADERS, "RateLimit-Limit", "Retry-After"):
        assert reply.header(name) is None, name


def test_secure_responses_carry_security_and_rate_limit_headers(secure, http):
    for reply in (
        http("GET", f"{secure.url}/api/members", token=secure.tokens["alice"]),
        http("GET", f"{secure.url}/api/members"),
        http("GET", f"{secure.url}/no-such-page"),
    ):
        assert reply.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert reply.header("X-Frame-Options") == "DENY"
        assert reply.header("RateLimit-Limit") is not None
        assert reply.header("Server") is None


_LIMITED = """
import sys, uvicorn
from lab.tenants.app import create_app
app = create_app("secure", endpoint_url=sys.argv[1], prefix="tenants_secure_",
                 secret=sys.argv[2], rate_limit=(3, 60.0))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", lifespan="off")
"""


@pytest.fixture()
def limited(lab: Any) -> Iterator[str]:
    """The secure twin with a limit of 3 requests a minute, in its own process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-c", _LIMITED, lab.endpoint_url, lab.secret, str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_secure_twin_answers_429_with_retry_after_past_its_limit(limited, secure, http):
    token = secure.tokens["carol"]
    replies = [http("GET", f"{limited}/api/members", token=token) for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.header("RateLimit-Remaining") for r in replies[:3]] == ["2", "1", "0"]
    assert int(replies[3].header("Retry-After") or 0) > 0


# --- the OpenAPI document ---------------------------------------------------------------


def _example(parameters: list[dict[str, Any]], name: str) -> str:
    return str(next(p["example"] for p in parameters if p.get("name") == name))


@pytest.mark.parametrize("variant", ["vulnerable", "secure"])
def test_every_documented_read_is_served_with_its_examples(lab, http, variant):
    target = lab.target("tenants", variant)
    spec = http("GET", target.spec_url).json()
    assert spec["servers"] == [{"url": target.url}]
    assert "x-variant" not in json.dumps(spec)
    for template, item in spec["paths"].items():
        assert set(item) - {"parameters"} <= {"get", "patch"}, template
        parameters = item.get("parameters", []) + item["get"].get("parameters", [])
        path = re.sub(r"\{(\w+)\}", lambda m, ps=parameters: _example(ps, m.group(1)), template)
        reply = http("GET", target.url + path, token=target.tokens["alice"])
        assert reply.status == 200, (template, reply.status)
