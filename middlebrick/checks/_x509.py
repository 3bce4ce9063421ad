"""The facts of an X.509 certificate a TLS check judges, read from its DER bytes.

Python's ``ssl`` module hands out a peer certificate as a dictionary only after verifying it;
a certificate that fails verification (expired, self-signed, for another host) is what a check
most needs to read. This module reads the DER form any handshake returns: validity dates,
subject and issuer common names, whether it is self-issued, and its subjectAltName DNS names
and IP addresses; and matches a host name against them as RFC 6125 says.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

_SEQUENCE = 0x30
_SET = 0x31
_OID = 0x06
_OCTET_STRING = 0x04
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_VERSION = 0xA0  # [0] EXPLICIT in TBSCertificate
_EXTENSIONS = 0xA3  # [3] EXPLICIT in TBSCertificate
_DNS_NAME = 0x82  # [2] IMPLICIT IA5String in GeneralName
_IP_ADDRESS = 0x87  # [7] IMPLICIT OCTET STRING in GeneralName
_COMMON_NAME = bytes([0x55, 0x04, 0x03])  # 2.5.4.3
_SUBJECT_ALT_NAME = bytes([0x55, 0x1D, 0x11])  # 2.5.29.17
_STRING_CODECS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be"}


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
    tag, start, _ = _tlv(der, 0)
    if tag != _SEQUENCE:
        raise ValueError("a certificate is a DER SEQUENCE")
    tag, tbs_start, tbs_end = _tlv(der, start)
    if tag != _SEQUENCE:
        raise ValueError("the certificate has no TBSCertificate")
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == _VERSION:
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("the TBSCertificate is too short")
    _serial, _algorithm, issuer, validity, subject = fields[:5]
    times = _children(der, validity[1], validity[2])
    if len(times) != 2:
        raise ValueError("the validity holds two times")
    dns: list[str] = []
    ips: list[str] = []
    has_alt = False
    for tag, ext_start, ext_end, _ in fields[6:]:
        if tag == _EXTENSIONS:
            has_alt = _read_alt_names(der, ext_start, ext_end, dns, ips)
    return Certificate(
        not_before=_time(der, times[0]),
        not_after=_time(der, times[1]),
        subject_cn=_common_name(der, subject),
        issuer_cn=_common_name(der, issuer),
        self_issued=der[issuer[3] : issuer[2]] == der[subject[3] : subject[2]],
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        has_alt_names=has_alt,
    )


_Node = tuple[int, int, int, int]  # tag, content start, content end, start of the whole TLV


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """Tag, content start and content end of the TLV at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[_Node]:
    nodes: list[_Node] = []
    pos = start
    while pos < end:
        tag, content, stop = _tlv(data, pos)
        nodes.append((tag, content, stop, pos))
        pos = stop
    return nodes


def _time(data: bytes, node: _Node) -> datetime:
    tag, start, end, _ = node
    text = data[start:end].decode("ascii")
    if tag == _UTC_TIME:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError("a validity time is UTCTime or GeneralizedTime")
    return datetime.strptime(text.rstrip("Z")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _common_name(data: bytes, name: _Node) -> str | None:
    for rdn in _children(data, name[1], name[2]):
        if rdn[0] != _SET:
            continue
        for attribute in _children(data, rdn[1], rdn[2]):
            parts = _children(data, attribute[1], attribute[2])
            if (
                len(parts) == 2
                and parts[0][0] == _OID
                and data[parts[0][1] : parts[0][2]] == (_COMMON_NAME)
            ):
                tag, start, end, _ = parts[1]
                return data[start:end].decode(_STRING_CODECS.get(tag, "latin-1"), "replace")
    return None


def _read_alt_names(data: bytes, start: int, end: int, dns: list[str], ips: list[str]) -> bool:
    """Collect subjectAltName entries of an [3] extensions block; True when the extension exists."""
    found = False
    for outer in _children(data, start, end):  # the SEQUENCE OF Extension
        for extension in _children(data, outer[1], outer[2]):
            parts = _children(data, extension[1], extension[2])
            if not parts or data[parts[0][1] : parts[0][2]] != _SUBJECT_ALT_NAME:
                continue
            value = parts[-1]
            if value[0] != _OCTET_STRING:
                continue
            found = True
            _, names_start, names_end = _tlv(data, value[1])
            for entry, entry_start, entry_end, _ in _children(data, names_start, names_end):
                raw = data[entry_start:entry_end]
                if entry == _DNS_NAME:
                    dns.append(raw.decode("ascii", "replace").lower())
                elif entry == _IP_ADDRESS and len(raw) in (4, 16):
                    ips.append(str(ipaddress.ip_address(raw)))
    return found


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
