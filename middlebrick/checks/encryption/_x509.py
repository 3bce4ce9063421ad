"""The facts of an X.509 certificate a TLS check judges, read from its DER bytes.

Python's ``ssl`` module hands out a peer certificate as a dictionary only after verifying it;
a certificate that fails verification (expired, self-signed, for another host) is what a check
most needs to read. This module reads the DER form any handshake returns with ``cryptography``:
validity dates, subject and issuer common names, whether it is self-issued, and its
subjectAltName DNS names and IP addresses; and matches a host name against them as RFC 6125 says.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    """What a TLS check reads from a leaf certificate."""

    not_before: datetime
    not_after: datetime
    subject_cn: str | None
    issuer_cn: str | None
    self_issued: bool  # issuer and subject are the same name
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    has_alt_names: bool = False  # a subjectAltName extension is present

    def names(self) -> list[str]:
        """The names the certificate is for, as a reader would list them."""
        names = [*self.dns_names, *self.ip_addresses]
        if not self.has_alt_names and self.subject_cn:
            names.append(f"CN={self.subject_cn}")
        return names

    def matches(self, host: str) -> bool:
        """True when ``host`` (a name or an IP address) is one the certificate is for.

        subjectAltName entries decide; the subject's common name counts only for a DNS host
        when the certificate has no subjectAltName at all (as OpenSSL and Python do).
        """
        host = host.strip("[]").lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            return any(_same_ip(address, text) for text in self.ip_addresses)
        names = self.dns_names if self.has_alt_names else (self.subject_cn or "",)
        return any(_dns_match(pattern, host) for pattern in names if pattern)


def parse_certificate(der: bytes) -> Certificate:
    """The facts of a DER-encoded certificate; ``ValueError`` when it cannot be read."""
    try:
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = None
        dns = san.get_values_for_type(x509.DNSName) if san is not None else []
        ips = san.get_values_for_type(x509.IPAddress) if san is not None else []
        return Certificate(
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            subject_cn=_common_name(cert.subject),
            issuer_cn=_common_name(cert.issuer),
            self_issued=cert.issuer.public_bytes() == cert.subject.public_bytes(),
            dns_names=tuple(name.lower() for name in dns),
            ip_addresses=tuple(str(address) for address in ips),
            has_alt_names=san is not None,
        )
    except ValueError as exc:
        raise ValueError(f"not a readable X.509 certificate: {exc}") from exc


def _common_name(name: x509.Name) -> str | None:
    for attribute in name.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attribute.value
        return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _same_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def _dns_match(pattern: str, host: str) -> bool:
    """RFC 6125: equal names, or a ``*`` as the whole left-most label matching one label."""
    pattern = pattern.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:]:
        return False
    label, _, rest = host.partition(".")
    return bool(label) and rest == pattern[2:] and rest.count(".") >= 1
