"""Evidence: secrets redacted everywhere, excerpts bounded, curl commands that replay exactly."""

from __future__ import annotations

import base64
import shlex
import subprocess

import pytest

from middlebrick.auth import is_credential_header
from middlebrick.config import Credential, ScanRequest
from middlebrick.http.evidence import (
    REDACTED,
    Redactor,
    curl_command,
    env_var_name,
    escape_header,
    excerpt_of,
    to_evidence,
)
from middlebrick.http.exchange import Exchange, Headers, Request, Response, decode_headers

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-Xy9"
BOB_KEY = "bob-api-key-93f1c2"
SCAN = ScanRequest(
    target="http://127.0.0.1:8000",
    headers=(("Authorization", f"Bearer {TOKEN}"), ("X-Trace", "visible-trace-id")),
    identities={
        "bob": Credential(
            headers=(("X-API-Key", BOB_KEY), ("Cookie", "theme=dark; sid=s3ss10n-b0b"))
        ),
    },
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Authorization", True),
        ("Cookie", True),
        ("X-API-Key", True),
        ("Proxy-Authorization", True),
        ("X-Auth-Token", True),
        ("X-Session-Id", True),
        ("X-Client-Secret", True),
        ("Accept", False),
        ("X-Trace", False),
    ],
)
def test_credential_header_names_are_recognised(name: str, expected: bool) -> None:
    assert is_credential_header(name) is expected


def test_redactor_hides_credentials_and_every_other_header_value_given() -> None:
    redact = Redactor.for_scan(SCAN)
    text = f"auth Bearer {TOKEN}; bare {TOKEN}; key {BOB_KEY}; sid s3ss10n-b0b; visible-trace-id"
    assert redact(text) == (
        f"auth {REDACTED}; bare {REDACTED}; key {REDACTED}; sid {REDACTED}; {REDACTED}"
    )


def test_redactor_hides_a_secret_in_another_letter_case() -> None:
    redact = Redactor.for_scan(SCAN)
    assert redact(f"echo: {TOKEN.upper()} {BOB_KEY.title()}") == f"echo: {REDACTED} {REDACTED}"


def test_redactor_does_not_search_for_values_too_short_to_be_secrets() -> None:
    redact = Redactor(["ci", "a=1"])
    assert redact("specification a=1") == "specification a=1"


def test_redactor_hides_url_encoded_secrets_and_basic_auth_passwords() -> None:
    basic = base64.b64encode(b"alice:pa55/word!").decode()
    redact = Redactor([f"Basic {basic}", "tok/en+1=="])
    assert redact("?t=tok%2Fen%2B1%3D%3D") == f"?t={REDACTED}"
    assert redact("password was pa55/word!") == f"password was {REDACTED}"
    assert redact(basic) == REDACTED


def test_redactor_keeps_short_cookie_parts_that_would_hide_everything() -> None:
    redact = Redactor(["a=1; theme=dark; sid=longsecretvalue"])
    assert redact("a=1, 1, dark, longsecretvalue") == f"a=1, 1, dark, {REDACTED}"


def _exchange(**response: object) -> Exchange:
    request = Request(
        "POST",
        f"http://127.0.0.1:8000/chat?token={TOKEN}",
        Headers.of({"Content-Type": "application/json", "X-Echo": TOKEN}),
        body=f'{{"q": "it\'s {TOKEN}"}}'.encode(),
        identity="bob",
    )
    values: dict[str, object] = {
        "status": 200,
        "headers": Headers.of(
            [
                ("Set-Cookie", "sid=fresh-session-from-server; HttpOnly; Path=/"),
                ("Set-Cookie", "theme=dark"),
                ("X-Echo-Key", BOB_KEY),
                ("Content-Type", "text/plain"),
            ]
        ),
        "body": f"hello {TOKEN} and {BOB_KEY}".encode(),
        "url": request.url,
    }
    values.update(response)
    return Exchange(request, Response(**values))  # type: ignore[arg-type]


def test_evidence_never_contains_a_secret() -> None:
    evidence = to_evidence(
        _exchange(),
        Redactor.for_scan(SCAN),
        label="probe",
        match=TOKEN,
        credential_headers=["X-API-Key", "Cookie"],
    )
    dumped = evidence.model_dump_json()
    for secret in (TOKEN, BOB_KEY, "s3ss10n-b0b", "fresh-session-from-server"):
        assert secret not in dumped
    assert evidence.request.headers["X-API-Key"] == REDACTED
    assert evidence.request.headers["Cookie"] == REDACTED
    assert evidence.request.url == f"http://127.0.0.1:8000/chat?token={REDACTED}"
    assert evidence.response_headers["Set-Cookie"] == (
        f"sid={REDACTED}; HttpOnly; Path=/, {REDACTED}"  # theme=dark is part of bob's Cookie
    )
    assert evidence.match == REDACTED and REDACTED in evidence.excerpt


def test_evidence_of_a_transport_error_has_no_response_and_a_redacted_error() -> None:
    exchange = Exchange(Request("GET", "http://127.0.0.1:8000/"), None, f"refused {TOKEN}")
    evidence = to_evidence(exchange, Redactor.for_scan(SCAN), label="probe")
    assert evidence.status is None and evidence.excerpt == ""
    assert evidence.error == f"refused {REDACTED}"


def test_excerpt_is_bounded_and_centred_on_the_match() -> None:
    text = "a" * 7000 + "password_hash" + "b" * 7000
    excerpt, match = excerpt_of(text, "password_hash")
    assert len(excerpt) <= 2000 and match == "password_hash"
    assert excerpt.startswith("…") and excerpt.endswith("…")
    middle = excerpt.index("password_hash")
    assert abs(middle - (len(excerpt) - middle - len(match))) <= 2


def test_excerpt_keeps_a_match_near_either_end() -> None:
    excerpt, _ = excerpt_of("x" * 5000 + "MATCH", "MATCH")
    assert excerpt.endswith("MATCH") and len(excerpt) <= 2000
    excerpt, _ = excerpt_of("MATCH" + "x" * 5000, "MATCH")
    assert excerpt.startswith("MATCH") and len(excerpt) <= 2000


def test_excerpt_without_a_match_is_the_start_of_the_body() -> None:
    excerpt, match = excerpt_of("y" * 5000, "absent")
    assert match is None and excerpt == "y" * 1999 + "…"


def test_curl_command_replays_method_url_headers_and_body_exactly() -> None:
    url = "http://127.0.0.1:8000/files/..%2f..%2fetc%2fpasswd?q=it's&x=$(id)"
    command = curl_command(
        "PUT", url, [("X-Quote", 'a\'b "c" $HOME `id`')], body=b'{"name": "O\'Brien"}'
    )
    assert shlex.split(command) == [
        "curl", "-i", "-X", "PUT", "--path-as-is", url,
        "-H", "X-Quote: a'b \"c\" $HOME `id`",
        "--data-binary", '{"name": "O\'Brien"}',
    ]  # fmt: skip


def test_curl_command_reads_credentials_from_environment_placeholders() -> None:
    command = curl_command(
        "GET", "http://127.0.0.1:8000/me", credential_headers=["Authorization"], identity=None
    )
    assert command == (
        "curl -i -X GET --path-as-is 'http://127.0.0.1:8000/me' "
        '-H "Authorization: $MIDDLEBRICK_AUTHORIZATION"'
    )
    assert env_var_name("X-API-Key", "bob") == "MIDDLEBRICK_BOB_X_API_KEY"


def test_curl_placeholders_expand_in_a_real_shell() -> None:
    command = curl_command(
        "GET", "http://127.0.0.1:8000/me", credential_headers=["X-API-Key"], identity="bob"
    )
    echoed = subprocess.run(
        ["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")],
        env={"MIDDLEBRICK_BOB_X_API_KEY": "k-123"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "X-API-Key: k-123" in echoed


def test_curl_command_writes_binary_bodies_byte_exact() -> None:
    body = b"\x00\xff'\\%s\n\x7f\x00end"
    command = curl_command("POST", "http://127.0.0.1:8000/upload", body=body)
    data_file = command.split("--data-binary @", 1)[1]
    replayed = subprocess.run(["bash", "-c", f"cat {data_file}"], capture_output=True, check=True)
    assert replayed.stdout == body


def test_curl_command_quotes_control_characters_in_headers() -> None:
    command = curl_command("GET", "http://127.0.0.1:8000/", [("X-Inject", "a\r\nSet-Cookie: x=1")])
    replayed = subprocess.run(
        ["bash", "-c", "printf '%s' " + command.split("-H ", 1)[1]], capture_output=True, check=True
    )
    assert replayed.stdout == b"X-Inject: a\r\nSet-Cookie: x=1"


def test_curl_uses_a_head_request_for_head() -> None:
    assert curl_command("HEAD", "http://127.0.0.1:8000/").startswith("curl -I --path-as-is ")


def test_evidence_curl_holds_placeholders_not_secrets() -> None:
    evidence = to_evidence(
        _exchange(), Redactor.for_scan(SCAN), credential_headers=["X-API-Key", "Cookie"]
    )
    assert '"X-API-Key: $MIDDLEBRICK_BOB_X_API_KEY"' in evidence.curl
    assert '"Cookie: $MIDDLEBRICK_BOB_COOKIE"' in evidence.curl
    assert TOKEN not in evidence.curl and BOB_KEY not in evidence.curl


def test_received_header_bytes_decode_losslessly_whatever_they_are() -> None:
    raw = ((b"X-Note", b"caf\xe9 \xff\xfe \xc3\x28"), (b"Server", b"gunicorn"))

    headers = decode_headers(raw)

    assert [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers] == list(raw)


def test_evidence_escapes_header_bytes_outside_printable_ascii() -> None:
    assert escape_header("caf\xe9 \xff\x1b[2J") == "caf\\xe9 \\xff\\x1b[2J"
    assert escape_header("gunicorn/20.1.0") == "gunicorn/20.1.0"
