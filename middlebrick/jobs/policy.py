"""What the service may scan for an organisation: public addresses, and verified domains for
authenticated and active scans.

- A target (and a spec URL) at a loopback, private, link-local or otherwise non-public address
  is refused unless the administrator allows private addresses (``--allow-private``): otherwise
  any organisation could aim the service at the network it runs in. A host name is resolved the
  way the scan will resolve it (the system's resolver), when the scan is queued.
- A scan with credentials (identities or headers) or in active mode needs its organisation to
  have verified the target's domain (``middlebrick.domains``): a DNS-verified domain covers its
  subdomains, a file-verified one only that host. Safe scans without credentials read only what
  the target shows anyone, and need no verification.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from middlebrick.domains import Verification, covers
from middlebrick.store.records import DomainInfo

__all__ = ["TargetPolicy", "needs_verified_domain", "private_address"]


def needs_verified_domain(options: dict[str, Any], *, credentials: bool) -> bool:
    """Whether a scan with these options needs a verified domain."""
    return credentials or options.get("mode") == "active"


@dataclass(frozen=True)
class TargetPolicy:
    """The administrator's choice about private addresses."""

    allow_private: bool = False

    def refusal(
        self,
        url: str,
        *,
        spec_url: str | None = None,
        verified: list[DomainInfo] | None = None,
    ) -> str | None:
        """Why the service may not scan ``url`` (None when it may); ``verified`` are the
        organisation's verified domains, given when the scan needs one."""
        for address in (url, spec_url):
            if address is None:
                continue
            host = urlsplit(address).hostname or ""
            private = None if self.allow_private else private_address(host)
            if private is not None:
                return (
                    f"{host} is at a loopback or private address ({private}); the service scans "
                    "such addresses only when its administrator allows them "
                    "(middlebrick serve --allow-private)"
                )
        if verified is None:
            return None
        host = urlsplit(url).hostname or ""
        if any(_covered(domain, host) for domain in verified):
            return None
        return (
            f"authenticated and active scans need a verified domain, and {host} is not verified "
            "for your organisation: verify it first (POST /api/v1/domains, or Domains in the "
            "dashboard)"
        )


def _covered(domain: DomainInfo, host: str) -> bool:
    method = "dns" if domain.method == "dns" else "file"
    proof = Verification(domain=domain.name, verified=domain.verified, method=method, reason="")
    return covers(proof, host)


def private_address(host: str) -> str | None:
    """The first address of ``host`` that is not public, if any (None when it cannot be
    resolved: the scan will say the target is unreachable)."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    for address in addresses:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global:
            return str(address)
    return None
