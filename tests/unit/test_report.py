"""The Report model and build_report: filtered, scored, complete, and JSON round-trips."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

import middlebrick
from middlebrick.config import Context, Tier
from middlebrick.filtering import ScanFacts
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)
from middlebrick.knowledge import categories
from middlebrick.report import CategoryResult, Report, SpecInfo, build_report
from middlebrick.scoring import CategoryStatus


def _finding(
    type_id: str,
    severity: Severity,
    confidence: Confidence = Confidence.firm,
    operation: str = "GET /items/{id}",
) -> Finding:
    url = "http://127.0.0.1:9/items/1"
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=confidence,
        operation=operation,
        detail="detail",
        evidence=(
            Evidence(
                label="probe",
                request=RecordedRequest(method="GET", url=url, headers={"Accept": "*/*"}),
                curl=f"curl '{url}'",
                status=200,
                response_headers={"Content-Type": "application/json"},
                excerpt='{"id": 1}',
                match='"id": 1',
            ),
        ),
        fingerprint=fingerprint(type_id, operation),
        cwe=(639,),
        owasp_api_2023="API1",
    )


def _metadata(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "scan_id": "scan-1",
        "target": "http://127.0.0.1:9/",
        "started_at": datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC),
        "finished_at": datetime(2025, 1, 1, 12, 0, 3, tzinfo=UTC),
        "duration_s": 3.0,
        "mode": "safe",
        "tier": Tier.quick,
        "operations": 4,
        "requests": 40,
        "surface_origin": "spec",
    }
    return values | overrides


def _report(
    findings: list[Finding],
    status: dict[str, tuple[CategoryStatus, str | None]],
    **overrides: Any,
) -> Report:
    return build_report(
        findings=findings,
        category_status=status,
        context=Context.general,
        **_metadata(**overrides),
    )


CHECKED: dict[str, tuple[CategoryStatus, str | None]] = {
    "bola": ("checked", None),
    "data_exposure": ("partial", "1 of 2 checks cut by the time budget"),
}


def test_report_round_trips_through_json() -> None:
    report = _report(
        [_finding("bola.adjacent-id", Severity.high), _finding("data_exposure.ssn", Severity.low)],
        CHECKED,
        framework="flask",
        spec=SpecInfo(source="openapi.yaml", title="T", version="1", spec_version="3.1.0"),
        notes=["partial scan: time budget reached"],
        complete=False,
    )

    assert Report.model_validate_json(report.model_dump_json()) == report


def test_build_report_lists_all_twelve_categories_in_report_order() -> None:
    report = _report([], CHECKED)

    assert [c.id for c in report.categories] == list(categories())
    assert [c.name for c in report.categories] == [c.name for c in categories().values()]
    assert report.category("bola").owasp == "API1"


def test_build_report_leaves_omitted_categories_not_checked_without_a_score() -> None:
    report = _report([], CHECKED)

    ssrf = report.category("ssrf")
    assert (ssrf.status, ssrf.score, ssrf.note) == ("not_checked", None, None)
    partial = report.category("data_exposure")
    assert (partial.status, partial.score) == ("partial", 100)
    assert partial.note == "1 of 2 checks cut by the time budget"


def test_build_report_filters_and_scores_findings() -> None:
    flaw = _finding("bola.adjacent-id", Severity.high)
    gone = _finding("bola.foreign-id", Severity.critical, Confidence.confirmed)

    facts = ScanFacts(contradicted=frozenset({gone.fingerprint}))

    report = _report([flaw, flaw, gone], CHECKED, facts=facts)

    assert report.findings == [flaw]
    assert report.notes[-1].startswith(
        "1 finding(s) dropped by the evidence rules: bola.foreign-id"
    )
    bola = report.category("bola")
    assert (bola.score, bola.findings, bola.worst) == (80, 1, Severity.high)
    assert report.score == 89  # (80 * 1.5 + 100 * 1.2) / 2.7 = 88.9
    assert report.grade == "B"


def test_build_report_gives_no_score_or_grade_when_no_category_was_checked() -> None:
    report = _report([], {})

    assert (report.score, report.grade) == (None, None)
    assert Report.model_validate_json(report.model_dump_json()) == report


def test_build_report_explains_a_cap_in_the_notes() -> None:
    critical = _finding("bola.foreign-id", Severity.critical, Confidence.confirmed)

    report = _report([critical], CHECKED, notes=["engine note"])

    assert report.score == 59
    assert report.notes[0] == "engine note"
    assert "capped at 59" in report.notes[1]


def test_build_report_rejects_unknown_metadata() -> None:
    with pytest.raises(ValidationError, match="colour"):
        _report([], CHECKED, colour="red")


def test_report_defaults_name_the_tool_and_its_version() -> None:
    report = _report([], CHECKED)

    assert (report.schema_version, report.tool) == (1, "middlebrick")
    assert report.version == middlebrick.__version__


def test_counts_by_severity_lists_every_severity_worst_first() -> None:
    report = _report(
        [
            _finding("bola.a", Severity.high, operation="GET /a"),
            _finding("bola.a", Severity.high, operation="GET /b"),
            _finding("data_exposure.b", Severity.info),
        ],
        CHECKED,
    )

    assert report.counts_by_severity() == {
        Severity.critical: 0,
        Severity.high: 2,
        Severity.medium: 0,
        Severity.low: 0,
        Severity.info: 1,
    }
    assert list(report.counts_by_severity()) == [
        Severity.critical,
        Severity.high,
        Severity.medium,
        Severity.low,
        Severity.info,
    ]


def test_category_lookup_of_an_unknown_id_names_the_valid_ones() -> None:
    report = _report([], CHECKED)

    with pytest.raises(KeyError, match=r"'bolla'.*authentication, bola, bfla"):
        report.category("bolla")


def test_category_result_rejects_a_score_on_a_not_checked_category() -> None:
    with pytest.raises(ValidationError, match="not-checked category has no score"):
        CategoryResult(
            id="ssrf", name="SSRF", owasp="API7", score=100, status="not_checked", findings=0
        )


def test_category_result_rejects_a_checked_category_without_a_score() -> None:
    with pytest.raises(ValidationError, match="every other one has a score"):
        CategoryResult(
            id="ssrf", name="SSRF", owasp="API7", score=None, status="partial", findings=0
        )


def test_report_rejects_a_score_when_no_category_was_checked() -> None:
    report = _report([], {})

    with pytest.raises(ValidationError, match="no category was checked"):
        Report.model_validate(report.model_dump() | {"score": 100, "grade": "A"})
