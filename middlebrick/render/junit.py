"""JUnit XML for CI test reports: one test suite per category, one test case per finding.

A test case is named ``<finding type> <operation>`` and fails when its finding is at or above
the fail level (``DEFAULT_FAIL_ON``, medium, unless the caller of ``render_junit`` says
otherwise); findings below it pass and are listed in the case's output. A checked category
without findings has one passing case; a category that was not checked has one skipped case
with the reason, so it never reads as a pass.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from middlebrick.findings import Finding, Severity
from middlebrick.render import renderer
from middlebrick.render._rich import mappings, where
from middlebrick.render._text import clean, one_line
from middlebrick.render._time import as_utc
from middlebrick.report import CategoryResult, Report

__all__ = ["DEFAULT_FAIL_ON", "render_junit"]

DEFAULT_FAIL_ON = Severity.medium

# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@renderer("junit")
def _render_default(report: Report, *, color: bool) -> str:
    """The report as JUnit XML failing at ``DEFAULT_FAIL_ON``; ``color`` is ignored."""
    return render_junit(report)


def render_junit(report: Report, *, fail_on: Severity = DEFAULT_FAIL_ON) -> str:
    """The report as JUnit XML whose test cases fail for findings at or above ``fail_on``."""
    root = ET.Element("testsuites", name=report.tool)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for result in report.categories:
        own = [f for f in report.findings if f.category == result.id]
        suite = _suite(report, result, own, fail_on)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    if report.coverage is not None:
        suite = _coverage_suite(report)
        root.append(suite)
        totals["tests"] += 1
        totals["failures"] += int(suite.get("failures", "0"))
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    root.set("time", f"{report.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(
    report: Report, result: CategoryResult, findings: list[Finding], fail_on: Severity
) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{report.tool}.{result.id}")
    suite.set("timestamp", _utc(report.started_at))
    suite.set("hostname", _xml(one_line(report.target)))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("category", result.name),
        ("owasp", result.owasp),
        ("status", result.status),
        ("score", "" if result.score is None else str(result.score)),
        ("note", result.note or ""),
    ):
        if value:
            ET.SubElement(properties, "property", name=name, value=_xml(one_line(value)))
    classname = f"{report.tool}.{result.id}"
    failures = skipped = 0
    if result.status == "not_checked":
        case = ET.SubElement(suite, "testcase", name=f"{result.id} not checked")
        case.set("classname", classname)
        reason = one_line(result.note) if result.note else "this category was not checked"
        ET.SubElement(case, "skipped", message=_xml(reason))
        skipped = 1
    elif not findings:
        case = ET.SubElement(suite, "testcase", name=f"{result.id} no findings")
        case.set("classname", classname)
    for finding in findings:
        failed = finding.severity.rank >= fail_on.rank
        suite.append(_case(finding, classname, failed))
        failures += failed
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", "0")
    return suite


def _coverage_suite(report: Report) -> ET.Element:
    """One case that fails when the scan reached too little of the API for a grade."""
    suite = ET.Element("testsuite", name=f"{report.tool}.coverage")
    suite.set("timestamp", _utc(report.started_at))
    suite.set("hostname", _xml(one_line(report.target)))
    case = ET.SubElement(suite, "testcase", name="coverage", classname=f"{report.tool}.coverage")
    text = _xml(one_line(report.coverage_summary() or ""))
    reasons = report.incomplete_reasons()
    if reasons:
        failure = ET.SubElement(case, "failure", type="incomplete")
        failure.set("message", _xml("scan incomplete, no score or grade: " + one_line(reasons[0])))
        failure.text = "\n".join([*(_xml(one_line(why)) for why in reasons), text])
    else:
        ET.SubElement(case, "system-out").text = text
    for key, value in (("tests", 1), ("failures", int(bool(reasons))), ("errors", 0)):
        suite.set(key, str(value))
    suite.set("skipped", "0")
    suite.set("time", "0")
    return suite


def _case(finding: Finding, classname: str, failed: bool) -> ET.Element:
    name = f"{finding.type_id} {one_line(finding.operation)}"
    if finding.parameter:
        name += f" [{one_line(finding.parameter)}]"
    case = ET.Element("testcase", name=_xml(name), classname=classname)
    text = _describe(finding)
    if failed:
        failure = ET.SubElement(case, "failure", type=finding.severity.value)
        failure.set("message", _xml(f"{finding.severity.value}: {one_line(finding.title)}"))
        failure.text = text
    else:
        ET.SubElement(case, "system-out").text = text
    return case


def _describe(finding: Finding) -> str:
    lines = [
        f"{finding.severity.value} · {finding.confidence.value} · {where(finding)}",
        clean(finding.detail).strip(),
    ]
    for item in finding.evidence:
        label = f" ({one_line(item.label)})" if item.label else ""
        status = f"HTTP {item.status}" if item.status is not None else (item.error or "")
        lines.append(f"evidence{label}: {one_line(status)}")
        lines.append(f"  $ {one_line(item.curl)}")
    if finding.remediation.strip():
        lines.append(f"fix: {clean(finding.remediation).strip()}")
    refs = mappings(finding)
    if refs:
        lines.append(refs)
    return _xml("\n".join(lines))


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _utc(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")
