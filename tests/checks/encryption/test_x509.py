"""How the TLS check matches a host against a certificate's names, and reads bad DER."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from middlebrick.checks._x509 import Certificate, parse_certificate

_DAY = datetime(2024, 1, 1, tzinfo=UTC)


def _cert(
    *, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), cn: str | None = None
) -> Certificate:
    return Certificate(
        not_before=_DAY,
        not_after=_DAY,
        subject_cn=cn,
        issuer_cn="CA",
        self_issued=False,
        dns_names=dns,
        ip_addresses=ips,
        has_alt_names=bool(dns or ips),
    )


@pytest.mark.parametrize(
    ("cert", "host", "expected"),
    [
        pytest.param(_cert(dns=("api.example.com",)), "API.example.com.", True, id="exact"),
        pytest.param(_cert(dns=("*.example.com",)), "api.example.com", True, id="wildcard"),
        pytest.param(_cert(dns=("*.example.com",)), "a.b.example.com", False, id="one-label"),
        pytest.param(_cert(dns=("*.example.com",)), "example.com", False, id="bare-domain"),
        pytest.param(_cert(dns=("*.com",)), "example.com", False, id="wildcard-tld"),
        pytest.param(_cert(dns=("a*.example.com",)), "ab.example.com", False, id="partial"),
        pytest.param(_cert(ips=("127.0.0.1",)), "127.0.0.1", True, id="ip"),
        pytest.param(_cert(dns=("127.0.0.1",)), "127.0.0.1", False, id="ip-as-dns-name"),
        pytest.param(_cert(ips=("::1",)), "[::1]", True, id="ipv6"),
        pytest.param(_cert(cn="api.example.com"), "api.example.com", True, id="cn-without-san"),
        pytest.param(
            Certificate(_DAY, _DAY, "api.example.com", "CA", False, ("www.example.com",), (), True),
            "api.example.com",
            False,
            id="cn-ignored-beside-san",
        ),
    ],
)
def test_certificate_matches_hosts_as_rfc_6125_says(
    cert: Certificate, host: str, expected: bool
) -> None:
    assert cert.matches(host) is expected


@pytest.mark.parametrize(
    "der",
    [b"", b"\x30", b"\x30\x82\xff\xff\x00", b"\x04\x03abc", b"\x30\x03\x02\x01\x01"],
    ids=["empty", "no-length", "truncated", "not-a-sequence", "no-tbs"],
)
def test_parse_certificate_refuses_what_is_not_a_certificate(der: bytes) -> None:
    with pytest.raises(ValueError):
        parse_certificate(der)
