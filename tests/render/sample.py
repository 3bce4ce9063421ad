"""A fixed report for the renderer tests: deterministic times, ids and catalogue text.

The findings are built from ``CATALOGUE``, a frozen copy of a few catalogue entries, and the
golden-file tests put it in place of the live catalogue, so that rewording an entry in
``knowledge/findings/`` does not change the golden files of the renderers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from middlebrick.config import Context, Tier
from middlebrick.coverage import Coverage
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)
from middlebrick.knowledge.models import FindingType, Remediation
from middlebrick.report import Report, SkippedOperation, SpecInfo, build_report
from middlebrick.scoring import CategoryStatus

BASE = "http://127.0.0.1:8080"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'


def _entry(
    type_id: str,
    title: str,
    severity: Severity,
    cwe: tuple[int, ...],
    owasp: str,
    pci: tuple[str, ...],
    soc2: tuple[str, ...],
    fix: str,
) -> FindingType:
    return FindingType(
        id=type_id,
        category=type_id.split(".")[0],
        title=title,
        severity=severity,
        cwe=cwe,
        owasp_api_2023=owasp,
        pci_dss=pci,
        soc2=soc2,
        summary=f"Summary of {title.lower()}.",
        remediation=Remediation(generic=fix, flask=f"Flask: {fix}"),
    )


CATALOGUE = {
    entry.id: entry
    for entry in (
        _entry(
            "authentication.declared-not-enforced",
            "Declared authentication is not enforced",
            Severity.high,
            (306, 862),
            "API2",
            ("8.3.1", "7.2.1"),
            ("CC6.1",),
            "Enforce authentication in middleware that runs before every handler.",
        ),
        _entry(
            "data_exposure.secret-token",
            "Secret or API key in a response",
            Severity.critical,
            (522, 200),
            "API3",
            ("3.5.1", "8.3.2"),
            ("CC6.1", "C1.1"),
            "Remove the secret from the response and rotate it.",
        ),
        _entry(
            "data_exposure.ssn",
            "US Social Security number in a response",
            Severity.high,
            (359,),
            "API3",
            ("3.4.1",),
            ("CC6.1", "C1.1"),
            "Return only the fields the caller may see; mask the `ssn` field.",
        ),
        _entry(
            "encryption.hsts-missing",
            "Strict-Transport-Security header missing",
            Severity.medium,
            (319, 523),
            "API8",
            ("4.2.1",),
            ("CC6.7",),
            "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
        ),
        _entry(
            "authentication.missing-www-authenticate",
            "401 response without WWW-Authenticate",
            Severity.low,
            (693,),
            "API8",
            (),
            ("CC6.1",),
            "Send a WWW-Authenticate header naming the scheme with every 401.",
        ),
    )
}


def evidence(
    path: str,
    *,
    label: str | None,
    status: int = 200,
    excerpt: str = "",
    match: str | None = None,
    headers: dict[str, str] | None = None,
) -> Evidence:
    """One GET exchange on the sample target."""
    url = f"{BASE}{path}"
    return Evidence(
        label=label,
        request=RecordedRequest(method="GET", url=url),
        curl=f"curl -sS -X GET '{url}'",
        status=status,
        response_headers=headers or {},
        excerpt=excerpt,
        match=match,
    )


def finding(
    type_id: str,
    operation: str,
    *,
    detail: str,
    evidence: tuple[Evidence, ...],
    confidence: Confidence = Confidence.firm,
    severity: Severity | None = None,
    parameter: str | None = None,
    title: str | None = None,
) -> Finding:
    """A finding of a ``CATALOGUE`` type, as ``CheckContext.finding`` would build it."""
    entry = CATALOGUE[type_id]
    return Finding(
        type_id=type_id,
        category=entry.category,
        title=title or entry.title,
        severity=severity or entry.severity,
        confidence=confidence,
        operation=operation,
        parameter=parameter,
        detail=detail,
        evidence=evidence,
        fingerprint=fingerprint(type_id, operation, parameter),
        cwe=entry.cwe,
        owasp_api_2023=entry.owasp_api_2023,
        pci_dss=entry.pci_dss,
        soc2=entry.soc2,
        remediation=entry.remediation.for_framework("flask"),
    )


def sample_findings() -> list[Finding]:
    """Five findings, one of each severity but info, over three categories."""
    return [
        finding(
            "authentication.declared-not-enforced",
            "GET /orders/{order_id}",
            confidence=Confidence.confirmed,
            detail="expected 401 without credentials, got 200 with the same body as with them",
            evidence=(
                evidence(
                    "/orders/1001", label="anonymous", excerpt='{"order_id": "1001", "total": 4}'
                ),
                evidence("/orders/1001", label="baseline", excerpt='{"order_id": "1001"}'),
            ),
        ),
        finding(
            "data_exposure.secret-token",
            "GET /config",
            confidence=Confidence.confirmed,
            detail="an AWS access key id is returned in field 'aws_key'",
            evidence=(
                evidence(
                    "/config",
                    label="baseline",
                    excerpt='{"aws_key": "AKIAABCDEFGHIJKLMNOP", "region": "eu-west-1"}',
                    match="AKIAABCDEFGHIJKLMNOP",
                ),
            ),
        ),
        finding(
            "data_exposure.ssn",
            "GET /users/{user_id}",
            parameter="user_id",
            detail="a value shaped like an SSN is returned in field 'ssn'",
            evidence=(
                evidence(
                    "/users/7",
                    label="baseline",
                    excerpt='{"id": 7, "name": "Ann", "ssn": "123-45-6789"}',
                    match="123-45-6789",
                ),
            ),
        ),
        finding(
            "encryption.hsts-missing",
            "*",
            detail="no Strict-Transport-Security header on any response",
            evidence=(evidence("/", label=None, headers={"Server": "gunicorn"}),),
        ),
        finding(
            "authentication.missing-www-authenticate",
            "GET /admin",
            confidence=Confidence.tentative,
            detail="401 without a WWW-Authenticate header",
            evidence=(evidence("/admin", label=None, status=401, excerpt="unauthorized"),),
        ),
    ]


def hostile_finding() -> Finding:
    """A finding whose target-controlled text tries to break out of HTML and Markdown."""
    payload = f"{SCRIPT} {ATTRIBUTE_BREAK} | `tick` [link](http://evil.test) @octocat"
    return finding(
        "data_exposure.ssn",
        f"GET /echo/{ATTRIBUTE_BREAK}",
        parameter=SCRIPT,
        title=f"Echo {SCRIPT}",
        detail=f"the target said {payload}",
        evidence=(
            Evidence(
                label=ATTRIBUTE_BREAK,
                request=RecordedRequest(method="GET", url=f"{BASE}/echo?q={SCRIPT}"),
                curl=f"curl '{BASE}/echo?q={ATTRIBUTE_BREAK}'",
                status=200,
                response_headers={"X-Echo": SCRIPT},
                excerpt=f"<<{payload}>> ```` and \x1b[31m red",
                match=SCRIPT,
            ),
        ),
    )


def sample_report(*extra: Finding, spec_source: str | None = "openapi.yaml") -> Report:
    """The fixed report: six categories checked (one partial), one not checked with a note."""
    status: dict[str, tuple[CategoryStatus, str | None]] = {
        "authentication": ("checked", None),
        "bola": ("checked", None),
        "data_exposure": ("partial", "1 of 3 checks cut by the time budget"),
        "encryption": ("checked", None),
        "input_validation": ("checked", None),
        "llm_security": ("not_checked", "no AI endpoint detected"),
    }
    spec = None
    if spec_source is not None:
        spec = SpecInfo(
            source=spec_source,
            title="Shop API",
            version="1.2.0",
            spec_version="3.1.0",
            operations=12,
        )
    return build_report(
        findings=[*sample_findings(), *extra],
        category_status=status,
        context=Context.financial,
        version="0.1.0",
        scan_id="scan-0001",
        target=f"{BASE}/",
        started_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        finished_at=datetime(2025, 1, 2, 3, 4, 9, 500000, tzinfo=UTC),
        duration_s=4.5,
        mode="safe",
        tier=Tier.standard,
        operations=12,
        requests=231,
        framework="flask",
        spec=spec,
        surface_origin="spec" if spec is not None else "url",
        notes=["partial scan: time budget of 120 s reached; 1 check did not finish"],
        complete=False,
        coverage=Coverage(
            operations=12, requested=10, usable=9, unusable={"answered 404": 1}, incomplete=[]
        ),
        skipped=[
            SkippedOperation(
                operation="GET /admin/cache/reset",
                reason="its path `/admin/cache/reset` names a state change (`reset`)",
            )
        ],
    )
