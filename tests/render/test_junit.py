"""The JUnit renderer: parses back as XML with the right suites, cases, failures and skips."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from middlebrick.findings import Severity
from middlebrick.knowledge import categories
from middlebrick.render import render
from middlebrick.render.junit import DEFAULT_FAIL_ON, render_junit
from tests.render.sample import hostile_finding, sample_report


def _suites(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    return {suite.get("name", ""): suite for suite in root.findall("testsuite")}


def test_junit_has_one_suite_per_category_with_consistent_counts() -> None:
    xml = render(sample_report(), "junit")
    root = ET.fromstring(xml)
    suites = _suites(xml)

    assert list(suites) == [*(f"middlebrick.{cid}" for cid in categories()), "middlebrick.coverage"]
    for suite in suites.values():
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert suite.get("skipped") == str(len(suite.findall("testcase/skipped")))
    assert root.get("tests") == str(len(root.findall("testsuite/testcase")))
    assert root.get("failures") == "4"  # critical, 2 high, medium; the low one passes
    assert root.get("skipped") == "7"  # seven of the twelve categories were not checked


def test_junit_names_a_case_after_the_finding_type_and_the_operation() -> None:
    suite = _suites(render(sample_report(), "junit"))["middlebrick.data_exposure"]

    names = [case.get("name") for case in suite.findall("testcase")]

    assert names == [
        "data_exposure.secret-token GET /config",
        "data_exposure.ssn GET /users/{user_id} [user_id]",
    ]
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("type") == "critical"
    assert "curl -sS -X GET 'http://127.0.0.1:8080/config'" in (failure.text or "")


def test_junit_findings_below_the_fail_level_pass_with_their_description() -> None:
    suite = _suites(render(sample_report(), "junit"))["middlebrick.authentication"]

    low = next(
        c for c in suite.findall("testcase") if "missing-www-authenticate" in c.get("name", "")
    )

    assert low.find("failure") is None
    assert "401 without a WWW-Authenticate header" in (low.findtext("system-out") or "")


def test_junit_format_fails_at_the_default_level_medium() -> None:
    report = sample_report()

    assert render(report, "junit") == render_junit(report, fail_on=Severity.medium)
    assert render_junit(report) == render_junit(report, fail_on=DEFAULT_FAIL_ON)


@pytest.mark.parametrize(
    ("fail_on", "failures"),
    [
        (Severity.critical, 1),
        (Severity.high, 3),
        (Severity.medium, 4),
        (Severity.low, 5),
        (Severity.info, 5),
    ],
)
def test_junit_fail_level_decides_which_findings_fail(fail_on: Severity, failures: int) -> None:
    root = ET.fromstring(render_junit(sample_report(), fail_on=fail_on))

    assert root.get("failures") == str(failures)
    assert len(root.findall("testsuite/testcase/failure")) == failures


def test_junit_marks_not_checked_categories_skipped_with_the_reason() -> None:
    suites = _suites(render(sample_report(), "junit"))

    llm = suites["middlebrick.llm_security"].find("testcase/skipped")
    ssrf = suites["middlebrick.ssrf"].find("testcase/skipped")
    clean = suites["middlebrick.bola"].findall("testcase")

    assert llm is not None and llm.get("message") == "no AI endpoint detected"
    assert ssrf is not None and ssrf.get("message") == "this category was not checked"
    assert [c.get("name") for c in clean] == ["bola no findings"]
    assert clean[0].find("failure") is None and clean[0].find("skipped") is None


def test_junit_stays_well_formed_with_hostile_text_and_characters_xml_cannot_hold() -> None:
    report = sample_report(hostile_finding())

    xml = render(report, "junit")
    suite = _suites(xml)["middlebrick.data_exposure"]

    assert "\x1b" not in xml
    hostile = next(c for c in suite.findall("testcase") if "/echo/" in c.get("name", ""))
    failure = hostile.find("failure")
    assert failure is not None
    assert "<script>alert(1)</script>" in (failure.get("message") or "")  # text, not markup
    assert hostile.find("script") is None
