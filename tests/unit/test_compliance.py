"""The compliance view: per framework, the requirements with findings, counted and ranked."""

from __future__ import annotations

from middlebrick.compliance import compliance_view
from middlebrick.findings import Severity
from tests.render.sample import sample_report


def test_compliance_view_lists_requirements_with_findings_in_framework_order() -> None:
    views = {view.id: view for view in compliance_view(sample_report())}

    assert list(views) == ["owasp_api_2023", "pci_dss", "soc2"]
    assert [r.requirement for r in views["owasp_api_2023"].rows] == ["API2", "API3", "API8"]
    assert [r.requirement for r in views["pci_dss"].rows] == [
        "3.4.1",
        "3.5.1",
        "4.2.1",
        "7.2.1",
        "8.3.1",
        "8.3.2",
    ]
    assert [r.requirement for r in views["soc2"].rows] == ["CC6.1", "CC6.7", "C1.1"]


def test_compliance_row_counts_findings_and_keeps_the_worst_severity() -> None:
    report = sample_report()
    soc2 = next(view for view in compliance_view(report) if view.id == "soc2")

    cc61 = next(row for row in soc2.rows if row.requirement == "CC6.1")

    assert cc61.title == "Logical access security over protected information assets"
    assert cc61.findings == 4
    assert cc61.worst == Severity.critical
    assert cc61.type_ids == (
        "authentication.declared-not-enforced",
        "authentication.missing-www-authenticate",
        "data_exposure.secret-token",
        "data_exposure.ssn",
    )
    assert cc61.fingerprints == tuple(f.fingerprint for f in report.findings if "CC6.1" in f.soc2)


def test_compliance_view_of_a_report_without_findings_has_empty_frameworks() -> None:
    report = sample_report().model_copy(update={"findings": []})

    assert [len(view.rows) for view in compliance_view(report)] == [0, 0, 0]
