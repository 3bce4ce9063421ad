"""Raw TLS handshakes with the scan's target for the TLS check; no HTTP is sent.

A handshake is not an HTTP request, so it cannot go through ``ctx.send``. ``TlsProbe`` opens
connections to one host and port only — the target's own, which the scope always admits —
counts each handshake against the check's declared cost exactly as ``ctx.send`` counts a
request (``ctx.sent``, refused past ``ctx.request_cap``), and bounds each one by the scan's
connect and read timeouts. Connections are aborted right after the handshake: no application
data is ever written.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from dataclasses import dataclass

from middlebrick.checks.context import CheckContext
from middlebrick.errors import BudgetExhausted

TLS_HANDSHAKES = 4
"""Handshakes one run of the TLS check may open, each counted as one request of its cost:
read the certificate, verify it against the system's trust store, offer TLS 1.0 only, offer
TLS 1.1 only."""

LEGACY_VERSIONS: tuple[tuple[str, str], ...] = (("TLSv1", "TLS 1.0"), ("TLSv1_1", "TLS 1.1"))
"""``ssl.TLSVersion`` member names of the deprecated protocol versions, with their names."""

_ANY_CIPHER = "ALL:@SECLEVEL=0"  # lets this side offer what old servers speak


@dataclass(frozen=True)
class Handshake:
    """What one handshake showed: the protocol agreed and the certificate, or why it failed."""

    version: str | None = None  # "TLSv1.3" … when the handshake completed
    cipher: str | None = None
    der: bytes | None = None  # the server's leaf certificate
    error: str | None = None
    verify_code: int | None = None  # OpenSSL's X509_V_ERR_* when verification failed
    reached: bool = True  # False when no TLS conversation took place (refused, timeout)

    @property
    def ok(self) -> bool:
        """True when the handshake completed."""
        return self.version is not None


class TlsProbe:
    """Handshakes with one host and port, counted against a check's declared cost."""

    def __init__(self, ctx: CheckContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port

    async def handshake(self, context: ssl.SSLContext) -> Handshake:
        """One handshake with ``context``; failures come back in the ``Handshake``.

        Raises ``BudgetExhausted`` past the check's declared cost.
        """
        ctx = self.ctx
        cap = ctx.request_cap
        if cap is not None and ctx.sent >= cap:
            name = ctx.spec.name if ctx.spec else "?"
            raise BudgetExhausted(f"check {name} reached its declared cost of {cap} requests")
        ctx.sent += 1
        limits = ctx.scan.limits
        timeout = limits.connect_timeout + limits.read_timeout
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(
                    self.host.strip("[]"),
                    self.port,
                    ssl=context,
                    server_hostname=self.host.strip("[]"),
                    ssl_handshake_timeout=limits.read_timeout,
                )
        except ssl.SSLCertVerificationError as exc:
            return Handshake(error=exc.verify_message or exc.reason, verify_code=exc.verify_code)
        except ssl.SSLError as exc:
            return Handshake(error=exc.reason or type(exc).__name__)
        except TimeoutError:
            return Handshake(error=f"no TLS handshake within {timeout:g} s", reached=False)
        except OSError as exc:
            return Handshake(error=exc.strerror or type(exc).__name__, reached=False)
        try:
            tls = writer.get_extra_info("ssl_object")
            if not isinstance(tls, ssl.SSLObject):
                return Handshake(error="no TLS session", reached=False)
            cipher = tls.cipher()
            return Handshake(
                version=tls.version(),
                cipher=cipher[0] if cipher else None,
                der=tls.getpeercert(binary_form=True),
            )
        finally:
            writer.transport.abort()  # no close_notify wait: nothing was sent


def inspect_context() -> ssl.SSLContext:
    """A client context that completes a handshake whatever the certificate: to read it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def verify_context() -> ssl.SSLContext:
    """What a careful client does: the system's trust store and a host name check.

    OpenSSL's ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` environment variables choose the store.
    """
    return ssl.create_default_context()


def legacy_context(member: str) -> ssl.SSLContext | None:
    """A client context that offers only ``ssl.TLSVersion[member]``, e.g. ``"TLSv1"``.

    ``None`` when this machine's OpenSSL cannot offer that version (built without it, or a
    policy it cannot lower), so the server's answer could not be tested.
    """
    context = inspect_context()
    with warnings.catch_warnings():  # Python deprecates the very versions tested here
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            version = ssl.TLSVersion[member]
            context.minimum_version = version
            context.maximum_version = version
            context.set_ciphers(_ANY_CIPHER)
        except (KeyError, ValueError, ssl.SSLError):
            return None
    return context if can_offer(context) else None


def can_offer(context: ssl.SSLContext) -> bool:
    """True when ``context`` can write a ClientHello; decided in memory, without a network."""
    tls = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return True  # the ClientHello is written and an answer awaited
    except ssl.SSLError:
        return False
    return False
