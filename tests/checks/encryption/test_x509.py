"""How the TLS check reads a certificate (through ``cryptography``), refuses bad DER, and
matches a host against the certificate's names."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from middlebrick.checks.encryption._x509 import Certificate, parse_certificate

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


def _der(
    *,
    subject_cn: str | None = "api.example.com",
    issuer_cn: str | None = "Example CA",
    san: list[x509.GeneralName] | None = None,
    not_before: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2025, 1, 1, 12, 30, 15, tzinfo=UTC),
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())

    def name(cn: str | None) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")]
        if cn is not None:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
        return x509.Name(attributes)

    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject_cn))
        .issuer_name(name(issuer_cn))
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.DER)


def test_parse_certificate_reads_dates_names_and_alt_names() -> None:
    der = _der(
        san=[
            x509.DNSName("API.example.com"),
            x509.DNSName("*.example.com"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.UniformResourceIdentifier("https://example.com/"),
        ]
    )

    assert parse_certificate(der) == Certificate(
        not_before=datetime(2024, 1, 1, tzinfo=UTC),
        not_after=datetime(2025, 1, 1, 12, 30, 15, tzinfo=UTC),
        subject_cn="api.example.com",
        issuer_cn="Example CA",
        self_issued=False,
        dns_names=("api.example.com", "*.example.com"),
        ip_addresses=("127.0.0.1", "::1"),
        has_alt_names=True,
    )


def test_parse_certificate_of_a_self_issued_one_without_alt_names() -> None:
    der = _der(subject_cn="localhost", issuer_cn="localhost")

    cert = parse_certificate(der)

    assert cert.self_issued and not cert.has_alt_names
    assert cert.names() == ["CN=localhost"] and cert.matches("localhost")


def test_parse_certificate_without_common_names_and_with_dates_past_2049() -> None:
    der = _der(  # GeneralizedTime from 2050 on (RFC 5280 4.1.2.5)
        subject_cn=None,
        issuer_cn=None,
        san=[],
        not_before=datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
        not_after=datetime(2051, 6, 1, tzinfo=UTC),
    )

    cert = parse_certificate(der)

    assert cert.subject_cn is None and cert.issuer_cn is None and cert.self_issued
    assert cert.not_before == datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert cert.not_after == datetime(2051, 6, 1, tzinfo=UTC)
    assert cert.has_alt_names and cert.names() == []
