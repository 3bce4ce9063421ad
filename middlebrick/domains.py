"""Verified domains: proof that an organisation controls the domain it wants to scan.

The service lets an organisation run authenticated and active scans only against domains it
has verified, by one of:

- a DNS TXT record at ``_middlebrick.<domain>`` whose value is the organisation's token;
- a file at ``https://<domain>/.well-known/middlebrick-verification.txt`` (or ``http://``)
  whose content is the token.

A DNS-verified domain covers its subdomains (whoever controls the zone controls them); a file
verifies only that host. A domain that is, or resolves to, a loopback, private, link-local or
otherwise non-public address fails verification unless an administrator allows private
addresses: otherwise any organisation could aim the service at its own network. Every lookup
goes to the configured resolver (``nameserver``, ``port``); the file is fetched from the address
that was checked (no second lookup a DNS rebinding could answer differently), without following
redirects, reading at most 1 KiB.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.resolver
from pydantic import BaseModel, ConfigDict

__all__ = [
    "RECORD_PREFIX",
    "WELL_KNOWN_PATH",
    "DomainVerifier",
    "Verification",
    "covers",
    "new_token",
    "normalise_domain",
]

RECORD_PREFIX = "_middlebrick."
WELL_KNOWN_PATH = "/.well-known/middlebrick-verification.txt"
_MAX_FILE = 1024
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

Method = Literal["dns", "file"]


class Verification(BaseModel):
    """The outcome of one verification: by which method it succeeded, or why it did not."""

    model_config = ConfigDict(frozen=True)

    domain: str
    verified: bool
    method: Method | None = None
    reason: str


def new_token() -> str:
    """A fresh organisation token to publish (128 random bits)."""
    return "middlebrick-verify-" + secrets.token_hex(16)


def normalise_domain(domain: str) -> str:
    """``domain`` lower-cased, without a trailing dot, IDNA-encoded; a ``ValueError`` if it is
    not a host name or an IP address."""
    text = domain.strip().rstrip(".").lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{domain!r} is not a valid domain name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 1 or not all(_LABEL.match(x) for x in labels):
        raise ValueError(f"{domain!r} is not a valid domain name")
    return ascii_name


def covers(verification: Verification, host: str) -> bool:
    """Whether a successful ``verification`` covers ``host`` (subdomains too for DNS)."""
    if not verification.verified:
        return False
    try:
        name = normalise_domain(host)
    except ValueError:
        return False
    if name == verification.domain:
        return True
    return verification.method == "dns" and name.endswith("." + verification.domain)


@dataclass(frozen=True)
class DomainVerifier:
    """Verifies domains against a token.

    ``nameserver``/``port``: the DNS resolver to ask (None: the system's); ``allow_private``:
    accept loopback and private addresses (an administrator's choice); ``http_port``: the port of
    the verification file (None: 443 for https, 80 for http); ``schemes``: tried in order.
    """

    nameserver: str | None = None
    port: int = 53
    allow_private: bool = False
    timeout: float = 5.0
    http_port: int | None = None
    schemes: tuple[str, ...] = ("https", "http")

    async def verify(
        self, domain: str, token: str, *, method: Method | Literal["any"] = "any"
    ) -> Verification:
        """Verify ``domain`` by DNS, by file, or by either (DNS first)."""
        try:
            name = normalise_domain(domain)
        except ValueError as exc:
            return Verification(domain=domain, verified=False, reason=str(exc))
        addresses, problem = await self._addresses(name)
        if problem is not None:
            return Verification(domain=name, verified=False, reason=problem)
        reasons: list[str] = []
        if method in ("dns", "any"):
            found = await self._by_dns(name, token)
            if found is None:
                return Verification(
                    domain=name, verified=True, method="dns", reason="TXT record matches"
                )
            reasons.append(found)
        if method in ("file", "any"):
            found = await self._by_file(name, addresses, token)
            if found is None:
                return Verification(
                    domain=name, verified=True, method="file", reason="file matches"
                )
            reasons.append(found)
        return Verification(domain=name, verified=False, reason="; ".join(reasons))

    def _resolver(self) -> dns.asyncresolver.Resolver:
        if self.nameserver is None:
            resolver = dns.asyncresolver.Resolver()
        else:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [self.nameserver]
            resolver.port = self.port
        resolver.lifetime = self.timeout
        return resolver

    async def _addresses(self, name: str) -> tuple[list[str], str | None]:
        """The domain's addresses, or why verification may not go on."""
        try:
            addresses = [str(ipaddress.ip_address(name))]
        except ValueError:
            addresses = []
            resolver = self._resolver()
            for rdtype in ("A", "AAAA"):
                try:
                    answer = await resolver.resolve(name, rdtype)
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    continue
                except dns.exception.DNSException as exc:
                    return [], f"the DNS lookup of {name} failed ({type(exc).__name__})"
                addresses += [rdata.to_text() for rdata in answer]
        if not self.allow_private:
            inner = [a for a in addresses if not ipaddress.ip_address(a).is_global]
            if inner:
                return [], (
                    f"{name} is at a loopback or private address ({inner[0]}); only an "
                    "administrator can allow verifying such targets"
                )
        return addresses, None

    async def _by_dns(self, name: str, token: str) -> str | None:
        """None when a TXT record holds the token, else why not."""
        record = RECORD_PREFIX + name
        try:
            ipaddress.ip_address(name)
            return "an IP address has no DNS record to verify; use the file"
        except ValueError:
            pass
        try:
            answer = await self._resolver().resolve(record, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return f"no TXT record at {record}"
        except dns.exception.DNSException as exc:
            return f"the TXT lookup of {record} failed ({type(exc).__name__})"
        for rdata in answer:
            value = b"".join(rdata.strings).decode("utf-8", "replace").strip()
            if _same(value, token):
                return None
        return f"the TXT record at {record} does not hold the token"

    async def _by_file(self, name: str, addresses: list[str], token: str) -> str | None:
        """None when the well-known file holds the token, else why not."""
        if not addresses:
            return f"{name} has no address to fetch {WELL_KNOWN_PATH} from"
        address = addresses[0]
        literal = f"[{address}]" if ":" in address else address
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        last = "not tried"
        async with aiohttp.ClientSession(
            timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            for scheme in self.schemes:
                port = self.http_port or (443 if scheme == "https" else 80)
                default = port == (443 if scheme == "https" else 80)
                host = name if default else f"{name}:{port}"
                if ":" in name and not default:
                    host = f"[{name}]:{port}"
                url = f"{scheme}://{literal}:{port}{WELL_KNOWN_PATH}"
                try:
                    async with session.get(
                        url,
                        headers={"Host": host},
                        allow_redirects=False,
                        server_hostname=name if scheme == "https" else None,
                    ) as resp:
                        body = await resp.content.read(_MAX_FILE + 1)
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = f"{scheme}: no answer ({type(exc).__name__})"
                    continue
                if status != 200:
                    last = f"{scheme}: {WELL_KNOWN_PATH} answered HTTP {status}"
                    continue
                if len(body) > _MAX_FILE:
                    last = f"{scheme}: {WELL_KNOWN_PATH} is longer than a token"
                    continue
                if _same(body.decode("utf-8", "replace").strip(), token):
                    return None
                last = f"{scheme}: {WELL_KNOWN_PATH} does not hold the token"
        return last


def _same(value: str, token: str) -> bool:
    return hmac.compare_digest(value.encode(), token.strip().encode())
