"""The service's commands: keys, users, worker, and ``scan --server`` with a local scan's exit
codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.twin_app import TOKEN
from tests.server.conftest import PASSWORD, Running, free_port

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


def _run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        input=stdin,
        env=env,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_keys_create_prints_the_key_alone_and_keeps_only_its_digest(
    db: str, tmp_path: Path
) -> None:
    created = _run("keys", "create", "--org", "Acme", "--database-url", db)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and re.fullmatch(r"mb_[A-Za-z0-9_-]{43}", key)
    assert "created for Acme" in created.stderr
    assert key.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("cli.db*"))
    listed = _run("keys", "list", "--org", "Acme", "--database-url", db)
    assert key[:10] in listed.stdout and "live" in listed.stdout and key not in listed.stdout
    assert _run("keys", "revoke", "1", "--org", "Acme", "--database-url", db).returncode == 0
    again = _run("keys", "revoke", "1", "--org", "Acme", "--database-url", db)
    assert again.returncode == 2 and "no live key 1" in again.stderr
    unknown = _run("keys", "list", "--org", "Nobody", "--database-url", db)
    assert unknown.returncode == 2 and "no organisation" in unknown.stderr


def test_users_create_reads_the_password_from_stdin(db: str) -> None:
    args = ("users", "create", "--org", "Acme", "--email", "Ada@Example.org", "--database-url", db)
    made = _run(*args, "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "ada@example.org" in made.stdout
    twice = _run(*args, "--password-stdin", stdin=PASSWORD + "\n")
    assert twice.returncode == 2 and "exists already" in twice.stderr
    short = _run(
        "users",
        "create",
        "--org",
        "Acme",
        "--email",
        "b@example.org",
        "--database-url",
        db,
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 2 and "12 characters" in short.stderr


def test_keys_secret_prints_a_fernet_key() -> None:
    from cryptography.fernet import Fernet

    made = _run("keys", "secret")
    Fernet(made.stdout.strip())  # raises if it is not a key


def test_worker_without_a_broker_is_a_usage_error(db: str) -> None:
    result = _run("worker", "--database-url", db)
    assert result.returncode == 2 and "--broker" in result.stderr


def test_a_database_url_that_cannot_be_used_is_a_usage_error() -> None:
    result = _run("keys", "create", "--org", "Acme", "--database-url", "nosuch://x")
    assert result.returncode == 2 and "database URL" in result.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scan_with_server_renders_the_report_and_keeps_the_exit_codes(
    service: Running, target_url: str, vulnerable_url: str
) -> None:
    args = ("scan", target_url, "--server", service.url, "--api-key", service.a.key, "--no-color")
    ok = _run(*args, "--identity", f"alice=bearer:{TOKEN}", "--format", "json", "--quiet")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    with service.client(service.a) as http:
        stored = http.get(f"/api/v1/scans/{report['scan_id']}").json()
    assert stored["score"] == report["score"] and stored["identities"] == ["alice"]
    gate = _run(
        "scan",
        vulnerable_url,
        "--server",
        service.url,
        "--api-key",
        service.a.key,
        "--no-color",
        "--threshold",
        "90",
    )
    assert gate.returncode == 1 and "below the threshold 90" in gate.stderr
    assert "score" in gate.stdout.lower()
    refused = _run("scan", target_url, "--server", service.url, "--api-key", "mb_wrong")
    assert refused.returncode == 2 and "refused the API key" in refused.stderr
    gone = _run("scan", target_url, "--server", f"http://127.0.0.1:{free_port()}", "--api-key", "k")
    assert gone.returncode == 3 and "did not answer" in gone.stderr
    unreachable = _run(
        "scan",
        f"http://127.0.0.1:{free_port()}",
        "--server",
        service.url,
        "--api-key",
        service.a.key,
        "--quiet",
    )
    assert unreachable.returncode == 3, unreachable.stderr
