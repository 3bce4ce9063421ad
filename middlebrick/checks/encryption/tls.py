"""Encryption / TLS: the protocol versions and the certificate of an https:// target."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from middlebrick.checks._net import is_loopback, origin
from middlebrick.checks.context import CheckContext
from middlebrick.checks.encryption._tls import (
    LEGACY_VERSIONS,
    TLS_HANDSHAKES,
    Handshake,
    TlsProbe,
    inspect_context,
    legacy_context,
    verify_context,
)
from middlebrick.checks.encryption._x509 import Certificate, parse_certificate
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Evidence, Finding, RecordedRequest, Severity

_LEGACY = "encryption.tls-legacy-protocol"
_EXPIRED = "encryption.tls-certificate-expired"
_NOT_YET_VALID = "encryption.tls-certificate-not-yet-valid"
_UNTRUSTED = "encryption.tls-certificate-untrusted"
_MISMATCH = "encryption.tls-certificate-hostname-mismatch"

# OpenSSL X509_V_ERR_* codes that the leaf's own facts explain (dates, names), and the
# self-signed ones; any other verification failure is a chain the trust store rejects.
_DATE_CODES = frozenset({9, 10})  # CERT_NOT_YET_VALID, CERT_HAS_EXPIRED
_NAME_CODES = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
_SELF_SIGNED_CODES = frozenset({18, 19})  # DEPTH_ZERO_SELF_SIGNED, SELF_SIGNED_IN_CHAIN
_LOCAL_NOTE = " (expected of a local development server: reported as info)"


@check(
    category="encryption",
    emits={_LEGACY, _EXPIRED, _NOT_YET_VALID, _UNTRUSTED, _MISMATCH},
    max_requests=TLS_HANDSHAKES,
)
async def tls(ctx: CheckContext) -> AsyncIterator[Finding]:
    """TLS of an https:// target: deprecated protocol versions, and its certificate's validity.

    Sends no HTTP request. Opens at most four TLS handshakes, each counted as one request of
    the check's cost, to the target's own host and port and nowhere else, each bounded by the
    scan's connect and read timeouts and closed right after the handshake: one that accepts
    any certificate (to read the server's leaf certificate), one as a careful client makes it
    (the system trust store and a host name check), one offering TLS 1.0 only and one
    offering TLS 1.1 only.

    Reports a certificate past its notAfter date (expired) or before its notBefore date (not
    yet valid); one whose chain the trust store rejects — self-signed, a private CA, missing
    intermediates — (untrusted); one whose subjectAltName names (or, without any, its subject
    CN) do not include the target's host (hostname mismatch); and a server that completes a
    TLS 1.0 or TLS 1.1 handshake (legacy protocol). The handshake is the proof: confidence is
    confirmed. On a loopback target, an untrusted certificate and a host name mismatch are
    what a development server shows, and are reported as info.

    An http:// target is not assessed. SSLv2 and SSLv3 are not tested: current OpenSSL builds
    cannot offer them. A version this machine's OpenSSL refuses to offer is noted in the
    report as not assessed, as is a target that gives no handshake at all.
    """
    scheme, host, port = origin(ctx.scan.target)
    if scheme != "https" or not host or port is None:
        return
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    probe = TlsProbe(ctx, host, port)
    first = await probe.handshake(inspect_context())
    if not first.reached:
        ctx.note(f"TLS of {where} was not assessed: no handshake ({first.error})")
        return
    if first.ok and first.der:
        try:
            certificate = parse_certificate(first.der)
        except ValueError as exc:
            ctx.note(f"the TLS certificate of {where} could not be read ({exc})")
        else:
            verified = await probe.handshake(verify_context())
            for finding in _certificate_findings(ctx, host, where, certificate, verified):
                yield finding
    elif not first.ok:
        ctx.note(f"a TLS 1.2+ handshake with {where} failed ({first.error})")
    accepted: list[tuple[str, Handshake]] = []
    for member, name in LEGACY_VERSIONS:
        context = legacy_context(member)
        if context is None:
            ctx.note(f"{name} was not assessed on {where}: this machine's OpenSSL cannot offer it")
            continue
        answer = await probe.handshake(context)
        if answer.ok:
            accepted.append((name, answer))
    if accepted:
        names = " and ".join(name for name, _ in accepted)
        modern = "" if first.ok else f"; a TLS 1.2+ handshake failed ({first.error})"
        yield ctx.finding(
            _LEGACY,
            "*",
            detail=f"{where} completed a handshake offering only {names}{modern}",
            evidence=[_legacy_evidence(host, where, name, answer) for name, answer in accepted],
            confidence=Confidence.confirmed,
        )


def _certificate_findings(
    ctx: CheckContext, host: str, where: str, cert: Certificate, verified: Handshake
) -> list[Finding]:
    """What the certificate's dates, chain and names show."""
    now = datetime.now(UTC)
    local = is_loopback(host)
    evidence = _CertificateEvidence(host, where, cert, verified)
    found: list[Finding] = []

    def report(type_id: str, detail: str, line: str, *, expected_locally: bool = False) -> None:
        quiet = expected_locally and local
        found.append(
            ctx.finding(
                type_id,
                "*",
                detail=detail + (_LOCAL_NOTE if quiet else ""),
                evidence=[evidence.of(line)],
                confidence=Confidence.confirmed,
                severity=Severity.info if quiet else None,
            )
        )

    who = _who(cert)
    if cert.not_after < now:
        days = (now - cert.not_after).days
        report(
            _EXPIRED,
            f"the certificate of {where} ({who}) expired on {_date(cert.not_after)}, "
            f"{days} day(s) ago",
            f"notAfter: {_date(cert.not_after)}",
        )
    if cert.not_before > now:
        report(
            _NOT_YET_VALID,
            f"the certificate of {where} ({who}) is valid only from {_date(cert.not_before)}",
            f"notBefore: {_date(cert.not_before)}",
        )
    code = verified.verify_code
    explained = (code in _DATE_CODES and not cert.not_before <= now <= cert.not_after) or (
        code in _NAME_CODES and not cert.matches(host)
    )
    if not verified.ok and code is not None and not explained:
        kind = (
            "is self-signed"
            if code in _SELF_SIGNED_CODES or cert.self_issued
            else "has a chain the system trust store does not accept"
        )
        report(
            _UNTRUSTED,
            f"the certificate of {where} ({who}) {kind}: a verifying client refuses it with "
            f"'{verified.error}' (OpenSSL error {code})",
            evidence.verification,
            expected_locally=True,
        )
    if not cert.matches(host):
        shown = ", ".join(cert.names()) or "no name"
        report(
            _MISMATCH,
            f"the certificate of {where} is for {shown}, not {host}",
            f"names: {shown}",
            expected_locally=True,
        )
    return found


class _CertificateEvidence:
    """The certificate as evidence: its facts as the excerpt, an openssl command to see them."""

    def __init__(self, host: str, where: str, cert: Certificate, verified: Handshake) -> None:
        self.host, self.where = host, where
        if verified.ok:
            self.verification = "verification: trusted by the system store"
        else:
            code = verified.verify_code
            self.verification = f"verification: {verified.error} (OpenSSL error {code})"
        self.excerpt = "\n".join(
            [
                f"subject: CN={cert.subject_cn or '?'}",
                f"issuer: CN={cert.issuer_cn or '?'}",
                f"notBefore: {_date(cert.not_before)}",
                f"notAfter: {_date(cert.not_after)}",
                f"names: {', '.join(cert.names()) or 'no name'}",
                self.verification,
            ]
        )

    def of(self, line: str) -> Evidence:
        """Evidence with ``line`` of the excerpt marked."""
        return Evidence(
            label="tls handshake",
            request=RecordedRequest(method="TLS", url=f"https://{self.where}/"),
            curl=f"openssl s_client -connect {self.where} -servername {self.host} </dev/null "
            "| openssl x509 -noout -subject -issuer -dates -ext subjectAltName",
            excerpt=self.excerpt,
            match=line,
        )


def _legacy_evidence(host: str, where: str, name: str, answer: Handshake) -> Evidence:
    flag = "-tls1" if name == "TLS 1.0" else "-tls1_1"
    line = f"protocol: {answer.version}"
    return Evidence(
        label=f"{name} handshake",
        request=RecordedRequest(method="TLS", url=f"https://{where}/"),
        curl=f"openssl s_client -connect {where} {flag} -cipher 'DEFAULT:@SECLEVEL=0' </dev/null",
        excerpt=f"{line}\ncipher: {answer.cipher or '?'}",
        match=line,
    )


def _who(cert: Certificate) -> str:
    return f"CN={cert.subject_cn or '?'}, issued by CN={cert.issuer_cn or '?'}"


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
