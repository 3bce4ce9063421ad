"""Verified domains, against a DNS server on loopback (dnslib) and a verification file served
on loopback. Every lookup goes to that DNS server: the verifier is given its address."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from dnslib import QTYPE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer

from middlebrick.domains import (
    WELL_KNOWN_PATH,
    DomainVerifier,
    Verification,
    covers,
    new_token,
    normalise_domain,
)
from tests.webhooks.test_delivery import _serve

TOKEN = new_token()


class Zone(BaseResolver):  # type: ignore[misc]
    """Answers from a table of (name, type) -> records; NXDOMAIN for anything else."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[object]] = {}
        self.asked: list[tuple[str, str]] = []

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        self.asked.append((name, kind))
        found = self.records.get((name, kind))
        if found is None:
            if not any(n == name for n, _ in self.records):
                reply.header.rcode = 3  # NXDOMAIN
            return reply
        for rdata in found:
            reply.add_answer(RR(name, getattr(QTYPE, kind), rdata=rdata, ttl=60))
        return reply


@pytest.fixture(scope="module")
def zone() -> Iterator[tuple[Zone, int]]:
    resolver = Zone()
    server = DNSServer(resolver, address="127.0.0.1", port=0, logger=_Quiet())
    server.start_thread()
    yield resolver, server.server.server_address[1]
    server.stop()
    server.server.server_close()


class _Quiet:
    def __getattr__(self, _name: str) -> object:
        return lambda *args, **kwargs: None


@dataclass
class FileHost:
    """A web server answering the verification file with ``content`` and ``status``."""

    content: bytes = TOKEN.encode()
    status: int = 200
    hosts: list[str] = field(default_factory=list)
    port: int = 0


@pytest.fixture
async def site() -> AsyncIterator[FileHost]:
    host = FileHost()

    async def well_known(request: web.Request) -> web.Response:
        host.hosts.append(request.headers.get("Host", ""))
        return web.Response(status=host.status, body=host.content)

    app = web.Application()
    app.router.add_get(WELL_KNOWN_PATH, well_known)
    runner, base = await _serve(app)
    host.port = int(base.rsplit(":", 1)[1])
    yield host
    await runner.cleanup()


@pytest.fixture
def dns_zone(zone: tuple[Zone, int]) -> Iterator[tuple[Zone, DomainVerifier]]:
    resolver, port = zone
    resolver.records.clear()
    resolver.asked.clear()
    yield resolver, DomainVerifier(nameserver="127.0.0.1", port=port, timeout=2)


async def test_domain_is_verified_by_a_txt_record_holding_the_token(
    dns_zone: tuple[Zone, DomainVerifier],
) -> None:
    zone, verifier = dns_zone
    zone.records[("_middlebrick.api.example.org", "TXT")] = [TXT("other"), TXT(TOKEN)]
    zone.records[("api.example.org", "A")] = [A("93.184.215.14")]
    result = await verifier.verify("API.Example.org.", TOKEN, method="dns")
    assert result == Verification(
        domain="api.example.org", verified=True, method="dns", reason="TXT record matches"
    )
    assert ("_middlebrick.api.example.org", "TXT") in zone.asked


async def test_domain_stays_unverified_by_a_txt_record_with_another_token(
    dns_zone: tuple[Zone, DomainVerifier],
) -> None:
    zone, verifier = dns_zone
    zone.records[("_middlebrick.example.org", "TXT")] = [TXT(new_token())]
    result = await verifier.verify("example.org", TOKEN, method="dns")
    assert not result.verified
    assert result.reason == "the TXT record at _middlebrick.example.org does not hold the token"
    missing = await verifier.verify("nothing.example.org", TOKEN, method="dns")
    assert (
        not missing.verified
        and missing.reason == "no TXT record at _middlebrick.nothing.example.org"
    )


async def test_domain_resolving_to_a_private_address_needs_an_administrator(
    dns_zone: tuple[Zone, DomainVerifier],
) -> None:
    zone, verifier = dns_zone
    zone.records[("_middlebrick.intranet.example.org", "TXT")] = [TXT(TOKEN)]
    zone.records[("intranet.example.org", "A")] = [A("10.1.2.3")]
    refused = await verifier.verify("intranet.example.org", TOKEN)
    assert not refused.verified and "private address (10.1.2.3)" in refused.reason
    assert ("_middlebrick.intranet.example.org", "TXT") not in zone.asked
    allowed = DomainVerifier(nameserver=verifier.nameserver, port=verifier.port, allow_private=True)
    assert (await allowed.verify("intranet.example.org", TOKEN)).verified


async def test_domain_is_verified_by_the_well_known_file_at_its_checked_address(
    dns_zone: tuple[Zone, DomainVerifier], site: FileHost
) -> None:
    zone, verifier = dns_zone
    zone.records[("shop.example.org", "A")] = [A("127.0.0.1")]
    allowed = DomainVerifier(
        nameserver=verifier.nameserver,
        port=verifier.port,
        allow_private=True,
        http_port=site.port,
        timeout=2,
    )
    result = await allowed.verify("shop.example.org", TOKEN)
    assert result.verified and result.method == "file"
    assert site.hosts == [f"shop.example.org:{site.port}"]  # https failed, http answered
    assert ("shop.example.org", "A") in zone.asked


async def test_loopback_file_host_is_refused_without_a_request_unless_allowed(
    dns_zone: tuple[Zone, DomainVerifier], site: FileHost
) -> None:
    _, verifier = dns_zone
    plain = DomainVerifier(http_port=site.port, nameserver=verifier.nameserver, port=verifier.port)
    refused = await plain.verify("127.0.0.1", TOKEN, method="file")
    assert not refused.verified and "loopback or private address (127.0.0.1)" in refused.reason
    assert site.hosts == []
    allowed = DomainVerifier(
        http_port=site.port, allow_private=True, nameserver="127.0.0.1", port=verifier.port
    )
    assert (await allowed.verify("127.0.0.1", TOKEN, method="file")).verified


@pytest.mark.parametrize(
    ("content", "status", "reason"),
    [
        (b"middlebrick-verify-not-the-token", 200, "does not hold the token"),
        (b"x" * 100_000, 200, "is longer than a token"),
        (b"", 404, "answered HTTP 404"),
    ],
)
async def test_file_that_does_not_hold_the_token_verifies_nothing(
    dns_zone: tuple[Zone, DomainVerifier],
    site: FileHost,
    content: bytes,
    status: int,
    reason: str,
) -> None:
    _, verifier = dns_zone
    site.content, site.status = content, status
    allowed = DomainVerifier(
        http_port=site.port, allow_private=True, nameserver="127.0.0.1", port=verifier.port
    )
    result = await allowed.verify("127.0.0.1", TOKEN, method="file")
    assert not result.verified and reason in result.reason


async def test_a_dns_server_that_does_not_answer_fails_within_the_timeout() -> None:
    import socket
    import time

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        verifier = DomainVerifier(nameserver="127.0.0.1", port=silent.getsockname()[1], timeout=0.5)
        started = time.monotonic()
        result = await verifier.verify("example.org", TOKEN)
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert not result.verified and "DNS lookup of example.org failed" in result.reason


def test_covers_subdomains_only_for_dns_verification() -> None:
    by_dns = Verification(domain="example.org", verified=True, method="dns", reason="")
    by_file = Verification(domain="example.org", verified=True, method="file", reason="")
    assert covers(by_dns, "api.example.org") and covers(by_file, "EXAMPLE.org")
    assert not covers(by_file, "api.example.org")
    assert not covers(by_dns, "badexample.org") and not covers(by_dns, "example.org.evil.test")
    failed = by_dns.model_copy(update={"verified": False})
    assert not covers(failed, "example.org")


@pytest.mark.parametrize("bad", ["", "-x.org", "a..b", "exa mple.org", "x" * 300, "a/b"])
def test_normalise_domain_refuses_what_is_not_a_host(bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid domain"):
        normalise_domain(bad)


def test_normalise_domain_lowercases_and_encodes_idna() -> None:
    assert normalise_domain("Bücher.Example.") == "xn--bcher-kva.example"
    assert normalise_domain("[::1]") == "::1"
