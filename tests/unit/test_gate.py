"""The CI gate: threshold, fail-on, baseline (known) and ignore file (suppressed, stale)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from middlebrick.coverage import measure
from middlebrick.errors import UsageError
from middlebrick.findings import Severity
from middlebrick.gate import Gate, IgnoreEntry, judge, load_ignore_file, load_report
from middlebrick.report import Report
from middlebrick.report_diff import diff_reports, render_diff
from tests.unit.test_report import CHECKED, _finding, _report

HIGH = _finding("bola.cross-identity-access", Severity.high)
LOW = _finding("data_exposure.email-address", Severity.low, operation="GET /users")
TODAY = date(2026, 6, 1)


def test_gate_fails_on_a_finding_at_or_above_the_fail_level() -> None:
    verdict = judge(_report([HIGH, LOW], CHECKED), Gate(fail_on=Severity.high, today=TODAY))
    assert verdict.failed and "1 finding(s) at or above high" in verdict.reasons[0]
    assert not judge(_report([LOW], CHECKED), Gate(fail_on=Severity.medium, today=TODAY)).failed


def test_gate_fails_below_the_threshold_only() -> None:
    report = _report([HIGH], CHECKED)
    assert report.score is not None
    assert judge(report, Gate(threshold=report.score + 1, today=TODAY)).failed
    assert not judge(report, Gate(threshold=report.score, today=TODAY)).failed


def test_gate_ignores_findings_known_from_the_baseline() -> None:
    gate = Gate(fail_on=Severity.low, known=frozenset({HIGH.fingerprint}), today=TODAY)
    verdict = judge(_report([HIGH, LOW], CHECKED), gate)
    assert verdict.known == (HIGH,) and verdict.new == (LOW,)
    assert verdict.failed and "1 new finding(s) at or above low" in verdict.reasons[0]


def test_gate_suppresses_until_expiry_and_reports_stale_entries() -> None:
    entry = IgnoreEntry(fingerprint=HIGH.fingerprint, reason="VPN only", expires=TODAY)
    gone = IgnoreEntry(fingerprint="0123456789abcdef", reason="fixed", expires=TODAY)
    report = _report([HIGH], CHECKED)
    verdict = judge(report, Gate(fail_on=Severity.high, ignore=(entry, gone), today=TODAY))
    assert not verdict.failed and verdict.suppressed == (HIGH,)
    assert verdict.stale == (
        "ignore entry 0123456789abcdef matches no finding of this scan; remove it",
    )
    later = judge(report, Gate(fail_on=Severity.high, ignore=(entry,), today=date(2026, 6, 2)))
    assert later.failed and "expired on 2026-06-01" in later.stale[0]


def test_load_ignore_file_reads_entries_and_names_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(
        "ignore:\n  - {fingerprint: 3f9c2a715b8e4d1a, reason: accepted risk, expires: 2027-03-31}\n"
    )
    assert load_ignore_file(path)[0].expires == date(2027, 3, 31)
    path.write_text("ignore:\n  - {fingerprint: 3f9c2a715b8e4d1a, reason: accepted risk}\n")
    with pytest.raises(UsageError, match=r"ignore\.0\.expires"):
        load_ignore_file(path)


def test_load_report_reads_a_json_report_and_refuses_other_files(tmp_path: Path) -> None:
    report = _report([HIGH], CHECKED)
    path = tmp_path / "r.json"
    path.write_text(report.model_dump_json())
    assert load_report(path) == report
    path.write_text('{"runs": []}')
    with pytest.raises(UsageError, match="not a middlebrick JSON report"):
        load_report(path)


def test_diff_lists_new_resolved_and_unchanged_findings_and_the_score_change() -> None:
    old = _report([HIGH, LOW], CHECKED)
    fixed = _finding("data_exposure.ssn", Severity.high, operation="GET /export")
    new = _report([LOW, fixed], CHECKED, scan_id="scan-2")
    changes = diff_reports(old, new)
    assert changes.added == (fixed,) and changes.resolved == (HIGH,) and changes.unchanged == (LOW,)
    text = render_diff(changes)
    assert "new (1):" in text and "data_exposure.ssn" in text and "unchanged: 1" in text
    assert '"score_change"' in render_diff(changes, "json")
    assert "### Resolved (1)" in render_diff(changes, "markdown")


def _incomplete_report() -> Report:
    coverage = measure(6, [f"GET /r{n}" for n in range(6)], {})  # nothing answered
    return _report([], CHECKED, coverage=coverage, complete=False)


def test_gate_fails_an_incomplete_scan_that_has_no_finding_and_no_score() -> None:
    report = _incomplete_report()
    assert report.score is None and report.verdict() == "incomplete"

    for gate in (Gate(threshold=90, today=TODAY), Gate(fail_on=Severity.low, today=TODAY)):
        verdict = judge(report, gate)
        assert verdict.failed
        assert verdict.reasons[0].startswith("the scan is incomplete (only 0 of 6 operations")


def test_gate_passes_an_incomplete_scan_when_incomplete_is_allowed_or_nothing_is_asked() -> None:
    report = _incomplete_report()

    assert not judge(report, Gate(threshold=90, allow_incomplete=True, today=TODAY)).failed
    assert not judge(report, Gate(today=TODAY)).failed


def test_allow_incomplete_still_fails_on_the_findings_an_incomplete_scan_made() -> None:
    report = _report([HIGH], CHECKED, complete=False)

    gate = Gate(fail_on=Severity.high, allow_incomplete=True, today=TODAY)
    assert judge(report, gate).failed
    assert not judge(_report([], CHECKED, complete=False), gate).failed


def test_a_complete_scan_passes_as_before() -> None:
    report = _report([LOW], CHECKED)

    assert not judge(report, Gate(threshold=50, fail_on=Severity.high, today=TODAY)).failed
