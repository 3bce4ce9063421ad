"""Every value the user gives to be sent stays secret: terminal, every format, the store,
re-renders, error messages; whatever the header's name and in whatever letter case it comes
back."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from middlebrick.config import ScanRequest
from middlebrick.events import CheckFinished
from middlebrick.http.evidence import Redactor
from middlebrick.progress import Progress
from middlebrick.saved import reports_dir
from tests.cli._run import Result, main, one_error_line, run
from tests.cli.conftest import Echo

# Header names that carry no "token", "secret", "key", "auth" or "session" (issue 12, item 5).
GIVEN = {
    "X-Trace-Ctx": "trace-ctx-value-5k2p",
    "X-Password": "hunter2-pass-8q1w",
    "X-Jwt": "jwt-value-3m9x",
    "X-Credential": "credential-value-7v4c",
}
FROM_CONFIG = {"X-Signature": "signature-value-2b6n"}
FROM_ENVIRONMENT = "environment-value-4h8t"
AUTH_TOKEN = "bearer-token-value-9r3d"
FORMATS = ("json", "sarif", "junit", "markdown", "html", "table")


def _leaks(text: str) -> list[str]:
    values = [*GIVEN.values(), *FROM_CONFIG.values(), FROM_ENVIRONMENT, AUTH_TOKEN]
    return [v for v in values if v.lower() in text.lower()]


def _scan(echo: Echo, tmp_path: Path, *extra: str) -> tuple[Result, list[Path]]:
    config = tmp_path / "scan.yaml"
    config.write_text(
        "headers:\n"
        + "".join(f"  {name}: {value}\n" for name, value in FROM_CONFIG.items())
        + "  X-Env-Ctx: ${CTX_VALUE}\n"
    )
    files = [tmp_path / f"report.{name}" for name in FORMATS]
    args = ["scan", echo.url, "--no-color", "--verbose", "--tier", "quick", "--timeout", "30"]
    args += ["--config", str(config), "--auth", f"bearer:{AUTH_TOKEN}"]
    for name, value in GIVEN.items():
        args += ["-H", f"{name}: {value}"]
    args += ["--format", "summary"]
    for name, file in zip(FORMATS, files, strict=True):
        args += ["--format", f"{name}:{file}"]
    return run(*args, *extra, env={"CTX_VALUE": FROM_ENVIRONMENT}), files


def test_no_header_value_given_is_shown_anywhere_whatever_its_name(
    echo: Echo, tmp_path: Path
) -> None:
    result, files = _scan(echo, tmp_path)

    assert result.returncode == 0, result.stderr
    assert echo.seen and echo.seen[0]["X-Password"] == GIVEN["X-Password"]  # they were sent
    assert echo.seen[0]["X-Env-Ctx"] == FROM_ENVIRONMENT
    assert _leaks(result.stdout + result.stderr) == []
    for file in files:
        assert _leaks(file.read_text(encoding="utf-8")) == [], file.name
    kept = list(reports_dir().glob("*.json"))
    assert len(kept) == 1 and _leaks(kept[0].read_text()) == []
    assert "[REDACTED]" in files[0].read_text()


def test_a_re_render_of_the_kept_report_shows_no_header_value(echo: Echo, tmp_path: Path) -> None:
    _scan(echo, tmp_path)
    scan_id = next(reports_dir().glob("*.json")).stem

    for fmt in ("summary", "table", "json", "markdown"):
        again = run("results", scan_id, "--format", fmt)
        assert again.returncode == 0, again.stderr
        assert _leaks(again.stdout) == [], fmt


def test_curl_commands_name_every_given_header_by_placeholder(echo: Echo, tmp_path: Path) -> None:
    _, files = _scan(echo, tmp_path)

    text = files[0].read_text()
    assert '"X-Password: $MIDDLEBRICK_X_PASSWORD"' in text.replace('\\"', '"')


def test_auth_and_a_credential_header_are_both_sent(echo: Echo, tmp_path: Path) -> None:
    result, _ = _scan(echo, tmp_path, "--quiet", "-H", "X-API-Key: api-key-value-6j1z")

    assert result.returncode == 0, result.stderr
    first = echo.seen[0]
    assert first["Authorization"] == f"Bearer {AUTH_TOKEN}"
    assert first["X-API-Key"] == "api-key-value-6j1z"
    assert first["X-Trace-Ctx"] == GIVEN["X-Trace-Ctx"]


@pytest.mark.parametrize(
    "args",
    [
        ["-H", "Authorization: Bearer one-value-1234", "--auth", "bearer:other-value-5678"],
        ["-H", "X-Ctx: one-value-1234", "-H", "x-ctx: other-value-5678"],
        ["-H", "X-API-Key: one-value-1234", "--auth", "apikey:X-API-Key:other-value-5678"],
    ],
    ids=["auth and -H", "-H twice", "apikey and -H"],
)
def test_one_header_given_twice_with_two_values_is_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", "http://127.0.0.1:9", *args)

    assert result.returncode == 2
    line = one_error_line(result)
    assert "given twice" in line
    assert "one-value-1234" not in line and "other-value-5678" not in line


def test_an_auth_profile_without_its_kind_is_not_echoed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", "http://127.0.0.1:9", "--auth", "s3cr3t-t0ken-value")

    assert result.returncode == 2
    assert "s3cr3t-t0ken-value" not in one_error_line(result) + result.stdout


def test_a_password_in_the_target_url_is_refused_without_being_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", "http://alice:Pa55-w0rd-url@127.0.0.1:9/v1")

    assert result.returncode == 2
    line = one_error_line(result)
    assert "--auth basic:USER:PASSWORD" in line
    assert "Pa55-w0rd-url" not in line + result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["-H", "X-Ctx: one\r\nX-Injected: 1"],
        ["-H", "X-Ctx: one\nX-Injected: 1"],
        ["--auth", "bearer:abc\r\ndef-secret"],
        ["--identity", "alice=apikey:X-API-Key:abc\ndef-secret"],
    ],
    ids=["CRLF in a header", "LF in a header", "CRLF in --auth", "LF in --identity"],
)
def test_a_line_break_in_a_credential_is_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", "http://127.0.0.1:9", *args)

    assert result.returncode == 2
    line = one_error_line(result)
    assert "line break" in line and "def-secret" not in line


def test_a_password_in_the_spec_url_is_refused_without_being_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = "HTTP://ci:sp3c-pa55word@127.0.0.1:9/openapi.json"  # any letter case of the scheme

    result = main(capsys, monkeypatch, "scan", "http://127.0.0.1:9", "--spec", spec, "--quiet")

    assert result.returncode == 2
    line = one_error_line(result)
    assert "sp3c-pa55word" not in line + result.stdout
    assert "the spec URL holds a user name or password" in line


def test_a_progress_line_quoting_a_given_value_shows_it_redacted() -> None:
    scan = ScanRequest(target="http://127.0.0.1:9", headers=(("X-Jwt", GIVEN["X-Jwt"]),))
    out = StringIO()
    note = f"x could not run: ValueError: bad value {GIVEN['X-Jwt'].upper()}"
    with Progress(Console(file=out), redact=Redactor.for_scan(scan)) as progress:
        progress.handle(CheckFinished("x", "failed", 0, 1, note))

    assert "x could not run" in out.getvalue()
    assert _leaks(out.getvalue()) == []
