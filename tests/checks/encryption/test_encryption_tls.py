"""The TLS check against loopback TLS servers whose certificates the test makes with openssl.

Each server differs from the well-configured one by one thing: an expired certificate, one
not yet valid, one for another host, a self-signed one, one from a CA nobody trusts, or TLS
1.0 accepted. ``SSL_CERT_FILE`` points the check's verifying handshake at the test CA, as it
would point any OpenSSL client at a private trust store.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import middlebrick.checks.encryption.tls as encryption_tls
from middlebrick.checks.encryption._tls import TLS_HANDSHAKES, legacy_context
from middlebrick.config import Limits, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.testing import FakeSender, make_baseline, run_check

_CA_CONFIG = """
[ ca ]
default_ca = test
[ test ]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ loopback ]
subjectAltName = IP:127.0.0.1,DNS:localhost
[ elsewhere ]
subjectAltName = DNS:api.example.test
"""
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass
class Certs:
    """Certificates for 127.0.0.1 signed by a test CA, and the files a server loads."""

    dir: Path
    ca: Path
    key: Path
    made: dict[str, Path] = field(default_factory=dict)

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, capture_output=True)

    def signed(self, name: str, *dates: str, names: str = "loopback") -> Path:
        """A leaf signed by the test CA, with ``dates`` (openssl ca options) and SAN section."""
        out = self.dir / f"{name}.pem"
        config = self.dir / "ca.cnf"
        self._openssl(
            "ca", "-batch", "-config", str(config), "-extensions", names, "-in", "leaf.csr",
            "-out", str(out), *dates,
        )  # fmt: skip
        return out

    def self_signed(self) -> Path:
        out = self.dir / "self.pem"
        self._openssl(
            "req", "-x509", "-key", "leaf.key", "-out", str(out), "-days", "30",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        )  # fmt: skip
        return out


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool makes the test certificates")
    folder = tmp_path_factory.mktemp("tls")
    made = Certs(folder, folder / "ca.pem", folder / "leaf.key")
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("1000\n")
    (folder / "ca.cnf").write_text(_CA_CONFIG.format(dir=folder))
    made._openssl(
        "req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", "/CN=middlebrick test CA",
    )  # fmt: skip
    made._openssl("req", *_EC, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    return made


@pytest.fixture
def trusted_ca(certs: Certs, monkeypatch: pytest.MonkeyPatch) -> Certs:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    return certs


@dataclass
class Server:
    url: str
    connections: int = 0


@asynccontextmanager
async def tls_server(cert: Path, key: Path, *, legacy: bool = False) -> AsyncIterator[Server]:
    """A loopback server that completes TLS handshakes (and then closes) with ``cert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    server = Server("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        with suppress(ssl.SSLError, OSError):
            await writer.start_tls(context)
        writer.transport.abort()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    server.url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield server


class NoteTaker(FakeSender):
    """A fake sender that keeps the notes a check leaves for the report."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)


async def _tls(url: str, sender: FakeSender | None = None) -> list[Finding]:
    scan = ScanRequest(target=url, limits=Limits(connect_timeout=2, read_timeout=3))
    return await run_check(
        "encryption.tls", baseline=make_baseline([]), scan=scan, sender=sender or FakeSender()
    )


def _found(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return sorted((f.type_id, f.severity) for f in findings)


async def test_tls_check_stays_quiet_when_the_certificate_is_valid_and_trusted(
    trusted_ca: Certs,
) -> None:
    good = trusted_ca.signed("good", "-days", "30")
    sender = FakeSender()

    async with tls_server(good, trusted_ca.key) as server:
        found = await _tls(server.url, sender)

    assert found == []
    assert server.connections == TLS_HANDSHAKES
    assert sender.sent == []  # handshakes only, no HTTP request


async def test_tls_check_reports_an_expired_certificate(trusted_ca: Certs) -> None:
    expired = trusted_ca.signed(
        "expired", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"
    )

    async with tls_server(expired, trusted_ca.key) as server:
        found = await _tls(server.url)

    assert _found(found) == [("encryption.tls-certificate-expired", Severity.high)]
    assert "expired on 2020-02-01 00:00:00 UTC" in found[0].detail
    assert found[0].confidence is Confidence.confirmed
    evidence = found[0].evidence[0]
    assert evidence.match == "notAfter: 2020-02-01 00:00:00 UTC"
    assert evidence.match in evidence.excerpt
    assert evidence.curl.startswith("openssl s_client -connect 127.0.0.1:")


async def test_tls_check_reports_a_certificate_not_yet_valid(trusted_ca: Certs) -> None:
    future = trusted_ca.signed(
        "future", "-startdate", "20450101000000Z", "-enddate", "20460101000000Z"
    )

    async with tls_server(future, trusted_ca.key) as server:
        found = await _tls(server.url)

    assert _found(found) == [("encryption.tls-certificate-not-yet-valid", Severity.medium)]


async def test_tls_check_reports_a_certificate_for_another_host(trusted_ca: Certs) -> None:
    other = trusted_ca.signed("other", "-days", "30", names="elsewhere")

    async with tls_server(other, trusted_ca.key) as server:
        found = await _tls(server.url)

    assert _found(found) == [("encryption.tls-certificate-hostname-mismatch", Severity.info)]
    assert "is for api.example.test, not 127.0.0.1" in found[0].detail


async def test_tls_check_reports_a_self_signed_certificate(certs: Certs) -> None:
    async with tls_server(certs.self_signed(), certs.key) as server:
        found = await _tls(server.url)

    assert _found(found) == [("encryption.tls-certificate-untrusted", Severity.info)]
    assert "is self-signed" in found[0].detail
    assert "local development server" in found[0].detail


async def test_tls_check_reports_a_chain_the_trust_store_does_not_know(certs: Certs) -> None:
    good = certs.signed("unknown-ca", "-days", "30")

    async with tls_server(good, certs.key) as server:
        found = await _tls(server.url)

    assert [f.type_id for f in found] == ["encryption.tls-certificate-untrusted"]
    assert "chain the system trust store does not accept" in found[0].detail
    assert "(OpenSSL error 20)" in found[0].detail


async def test_tls_check_reports_untrusted_and_mismatched_certificates_in_full_off_loopback(
    certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encryption_tls, "is_loopback", lambda host: False)
    other = certs.signed("other-untrusted", "-days", "30", names="elsewhere")

    async with tls_server(other, certs.key) as server:
        found = await _tls(server.url)

    assert _found(found) == [
        ("encryption.tls-certificate-hostname-mismatch", Severity.high),
        ("encryption.tls-certificate-untrusted", Severity.high),
    ]


async def test_tls_check_reports_a_server_that_accepts_tls_1_0(trusted_ca: Certs) -> None:
    if legacy_context("TLSv1") is None:
        pytest.skip("this machine's OpenSSL cannot offer TLS 1.0, so acceptance cannot be shown")
    good = trusted_ca.signed("legacy", "-days", "30")

    async with tls_server(good, trusted_ca.key, legacy=True) as server:
        found = await _tls(server.url)

    assert _found(found) == [("encryption.tls-legacy-protocol", Severity.medium)]
    assert "offering only TLS 1.0 and TLS 1.1" in found[0].detail
    assert [e.match for e in found[0].evidence] == ["protocol: TLSv1", "protocol: TLSv1.1"]


async def test_tls_check_notes_a_version_this_machine_cannot_offer(
    trusted_ca: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    if legacy_context("TLSv1_1") is None:
        pytest.skip("this machine's OpenSSL cannot offer TLS 1.1 either")
    real: Callable[[str], ssl.SSLContext | None] = legacy_context
    monkeypatch.setattr(
        encryption_tls, "legacy_context", lambda member: None if member == "TLSv1" else real(member)
    )
    good = trusted_ca.signed("refused", "-days", "30")
    sender = NoteTaker()

    async with tls_server(good, trusted_ca.key, legacy=True) as server:
        found = await _tls(server.url, sender)

    assert [f.type_id for f in found] == ["encryption.tls-legacy-protocol"]
    assert "offering only TLS 1.1" in found[0].detail
    assert any("TLS 1.0 was not assessed" in n for n in sender.notes)


async def test_tls_check_notes_a_target_that_gives_no_handshake() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = NoteTaker()

    found = await _tls(f"https://127.0.0.1:{port}", sender)

    assert found == []
    assert len(sender.notes) == 1 and "was not assessed: no handshake" in sender.notes[0]


async def test_tls_check_does_nothing_for_an_http_target() -> None:
    sender = NoteTaker()

    assert await _tls("http://127.0.0.1:9", sender) == []
    assert sender.notes == [] and sender.sent == []


async def test_scan_of_an_untrusted_https_target_stops_unless_told_insecure(certs: Certs) -> None:
    from aiohttp import web

    from middlebrick.engine import scan
    from middlebrick.errors import TargetUnreachable

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/", hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.self_signed(), certs.key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        with pytest.raises(TargetUnreachable, match="TLS certificate refused"):
            await scan(ScanRequest(target=url, limits=Limits(time_budget=20)))
        report = await scan(
            ScanRequest(target=url, verify_tls=False, limits=Limits(time_budget=20))
        )
        assert "encryption.tls-certificate-untrusted" in {f.type_id for f in report.findings}
    finally:
        await runner.cleanup()
