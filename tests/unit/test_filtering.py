"""Filter step: duplicates merged by fingerprint, contradicted findings dropped, stable order.

The evidence rules and root causes have their own twin tests (test_filtering_rules.py).
"""

from __future__ import annotations

import itertools

from middlebrick.filtering import MAX_EVIDENCE, ScanFacts, filter_findings
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)

C, H, M, L = Severity.critical, Severity.high, Severity.medium, Severity.low
CONFIRMED, FIRM, TENTATIVE = Confidence.confirmed, Confidence.firm, Confidence.tentative


def _evidence(n: int) -> Evidence:
    url = f"http://127.0.0.1/items/{n}"
    return Evidence(request=RecordedRequest(method="GET", url=url), curl=f"curl '{url}'")


def _finding(
    type_id: str = "bola.adjacent-id",
    severity: Severity = H,
    confidence: Confidence = FIRM,
    operation: str = "GET /items/{id}",
    parameter: str | None = None,
    *,
    detail: str = "detail",
    evidence: tuple[Evidence, ...] = (),
) -> Finding:
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=confidence,
        operation=operation,
        parameter=parameter,
        detail=detail,
        evidence=evidence,
        fingerprint=fingerprint(type_id, operation, parameter),
    )


def test_filter_merges_duplicates_keeping_the_most_severe_and_confident_one() -> None:
    weak = _finding(severity=M, confidence=CONFIRMED, detail="weak", evidence=(_evidence(1),))
    strong = _finding(severity=H, confidence=TENTATIVE, detail="strong", evidence=(_evidence(2),))
    surer = _finding(severity=H, confidence=FIRM, detail="surer", evidence=(_evidence(3),))

    [merged] = filter_findings([weak, strong, surer]).findings

    assert (merged.severity, merged.confidence, merged.detail) == (H, FIRM, "surer")
    assert merged.evidence == (_evidence(3), _evidence(2), _evidence(1))


def test_filter_keeps_at_most_max_evidence_distinct_items_winner_first() -> None:
    winner = _finding(severity=C, evidence=(_evidence(9), _evidence(1)))
    others = [_finding(severity=L, evidence=(_evidence(n), _evidence(1))) for n in range(2, 8)]

    [merged] = filter_findings([*others, winner]).findings

    assert len(merged.evidence) == MAX_EVIDENCE
    assert merged.evidence[:2] == (_evidence(9), _evidence(1))
    assert len(set(e.curl for e in merged.evidence)) == MAX_EVIDENCE


def test_filter_keeps_findings_whose_fingerprints_differ() -> None:
    a = _finding(parameter="id")
    b = _finding(parameter="owner")
    c = _finding(operation="GET /other/{id}")

    assert len(filter_findings([a, b, c]).findings) == 3


def test_filter_drops_every_copy_of_a_contradicted_fingerprint() -> None:
    flaw = _finding()
    kept = _finding(type_id="authentication.no-auth", severity=C)

    result = filter_findings(
        [flaw, flaw, kept], ScanFacts(contradicted=frozenset({flaw.fingerprint}))
    )

    assert result.findings == [kept]
    assert result.dropped == [
        "bola.adjacent-id on GET /items/{id}: sent again fresh, its request no longer showed it"
    ]


def test_filter_keeps_a_finding_no_probe_contradicted_and_drops_nothing() -> None:
    flaw = _finding()

    result = filter_findings([flaw], ScanFacts(contradicted=frozenset({"0123456789abcdef"})))

    assert (result.findings, result.dropped, result.notes()) == ([flaw], [], [])


def test_filter_sorts_by_severity_confidence_category_operation_parameter_and_type() -> None:
    expected = [
        _finding("data_exposure.ssn", C, CONFIRMED, "GET /a"),
        _finding("bola.adjacent-id", H, CONFIRMED, "GET /z"),
        _finding("authentication.no-auth", H, FIRM, "GET /z"),  # category order first
        _finding("bola.adjacent-id", H, FIRM, "GET /a"),
        _finding("bola.adjacent-id", H, FIRM, "GET /b"),  # then operation
        _finding("bola.adjacent-id", H, FIRM, "GET /b", "id"),  # then parameter
        _finding("bola.foreign-id", H, FIRM, "GET /b", "id"),  # then type id
        _finding("bola.adjacent-id", H, TENTATIVE, "GET /c"),
        _finding("authentication.no-auth", L, CONFIRMED, "GET /a"),
    ]

    assert filter_findings(reversed(expected)).findings == expected


def test_filter_result_does_not_depend_on_input_order() -> None:
    findings = [
        _finding(severity=M, confidence=CONFIRMED, detail="x", evidence=(_evidence(1),)),
        _finding(severity=M, confidence=CONFIRMED, detail="y", evidence=(_evidence(2),)),
        _finding(severity=L, evidence=(_evidence(3),)),
        _finding("authentication.no-auth", H),
        _finding("inventory.banner", L, TENTATIVE, "*"),
    ]
    results = {
        tuple(f.model_dump_json() for f in filter_findings(order).findings)
        for order in itertools.permutations(findings)
    }

    assert len(results) == 1
