"""SARIF 2.1.0 for GitHub code scanning: one run, one rule per finding type, one result per finding.

GitHub needs every result to have a physical location with a non-empty artifact URI and a start
line, even for a black-box scan that has no source file. The URI is the API description's path
when the scan used a spec given as a relative file (the file is usually in the repository), the
spec's file name when it was absolute or a URL, and the operation's path when there was no spec;
the line is always 1. The operation itself is the result's logical location. The stable finding
fingerprint is the partial fingerprint, so an alert keeps its identity across scans.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote, urlsplit

from middlebrick.findings import Finding, Severity
from middlebrick.knowledge import catalogue
from middlebrick.render import renderer
from middlebrick.render._text import clean, one_line
from middlebrick.render._time import as_utc
from middlebrick.report import Report

__all__ = ["INFORMATION_URI", "SECURITY_SEVERITY", "render_sarif"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/middlebrick/"
FINGERPRINT_KEY = "middlebrickFingerprint/v1"

# GitHub maps security-severity to its own levels: >= 9.0 critical, >= 7.0 high, >= 4.0 medium.
SECURITY_SEVERITY = {
    Severity.critical: "9.5",
    Severity.high: "8.0",
    Severity.medium: "5.5",
    Severity.low: "3.0",
    Severity.info: "0.0",
}
_LEVEL = {
    Severity.critical: "error",
    Severity.high: "error",
    Severity.medium: "warning",
    Severity.low: "note",
    Severity.info: "note",
}
_ROOT_URI = "(root)"  # a spec-less finding on "/" or on the whole target ("*")


@renderer("sarif")
def render_sarif(report: Report, *, color: bool) -> str:
    """The report as a SARIF 2.1.0 log that GitHub code scanning accepts; ``color`` is ignored."""
    rules = _rules(report.findings)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": report.tool,
                "version": report.version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "results": [_result(report, f, index[f.type_id]) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "target": one_line(report.target),
            "scanId": report.scan_id,
            "score": report.score,
            "grade": report.grade,
            "mode": report.mode,
            "tier": report.tier.value,
            "complete": report.complete,
            **({"coverage": report.coverage.model_dump()} if report.coverage else {}),
        },
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _invocation(report: Report) -> dict[str, Any]:
    """When the scan ran, and what it could not check, as notifications GitHub shows."""
    notes = [f"scan incomplete, no score or grade: {why}" for why in report.incomplete_reasons()]
    notes += [line for line in (report.coverage_summary(),) if line]
    notes += [
        f"{c.name} not checked" + (f": {c.note}" if c.note else "")
        for c in report.categories
        if c.status == "not_checked"
    ]
    notes += report.notes
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "startTimeUtc": _utc(report.started_at),
        "endTimeUtc": _utc(report.finished_at),
    }
    if notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": one_line(note)}} for note in notes
        ]
    return invocation


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    """One reporting descriptor per finding type, sorted by id, from its catalogue entry."""
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.type_id, finding)
    return [_rule(first[type_id]) for type_id in sorted(first)]


def _rule(finding: Finding) -> dict[str, Any]:
    entry = catalogue().get(finding.type_id)
    owasp: str | None
    if entry is not None:
        title, summary, severity = entry.title, entry.summary, entry.severity
        cwes, owasp, fix = entry.cwe, entry.owasp_api_2023, entry.remediation.generic
    else:  # a type the catalogue lacks (a plugin's): describe it from the finding itself
        title, summary, severity = finding.title, finding.title, finding.severity
        cwes, owasp, fix = finding.cwe, finding.owasp_api_2023, finding.remediation
    tags = ["security", finding.category, *(f"external/cwe/cwe-{n}" for n in cwes)]
    if owasp:
        tags.append(_owasp_tag(owasp))
    fix = fix.strip() or "See the finding's detail."
    return {
        "id": finding.type_id,
        "name": _pascal(finding.type_id),
        "shortDescription": {"text": one_line(title)},
        "fullDescription": {"text": one_line(summary)},
        "help": {"text": fix.replace("`", ""), "markdown": fix},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {"tags": tags, "security-severity": SECURITY_SEVERITY[severity]},
    }


def _result(report: Report, finding: Finding, rule_index: int) -> dict[str, Any]:
    title = one_line(finding.title)
    detail = clean(finding.detail).strip()
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "category": finding.category,
        "owasp": finding.owasp_api_2023,
        "pci_dss": list(finding.pci_dss),
        "soc2": list(finding.soc2),
    }
    if finding.parameter:
        properties["parameter"] = one_line(finding.parameter)
    if finding.evidence:
        properties["curl"] = one_line(finding.evidence[0].curl)
    return {
        "ruleId": finding.type_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{title}: {detail}" if detail else title},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _artifact_uri(report, finding)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [_logical_location(finding)],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def _logical_location(finding: Finding) -> dict[str, str]:
    if finding.operation == "*":
        return {"name": "*", "fullyQualifiedName": "*", "kind": "module"}
    operation = one_line(finding.operation)
    return {"name": operation, "fullyQualifiedName": operation, "kind": "function"}


def _artifact_uri(report: Report, finding: Finding) -> str:
    """A repository-relative URI GitHub accepts: the spec file, else the operation's path."""
    if report.spec is not None:
        source = one_line(report.spec.source)
        if "://" in source:
            name = PurePosixPath(urlsplit(source).path).name
            if name:
                return quote(name)
        else:
            path: PurePath = PureWindowsPath(source) if "\\" in source else PurePosixPath(source)
            if path.is_absolute() or ".." in path.parts or path.drive:
                return quote(path.name) if path.name else _ROOT_URI
            if path.parts:
                return quote(path.as_posix())
    _, _, route = one_line(finding.operation).partition(" ")
    route = route.split("?", 1)[0].strip("/")
    return quote(route) if route else _ROOT_URI


def _utc(moment: datetime) -> str:
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _owasp_tag(item: str) -> str:
    if re.fullmatch(r"API\d+", item):
        return f"OWASP-{item}:2023"
    if re.fullmatch(r"LLM\d+", item):
        return f"OWASP-{item}:2025"
    return f"OWASP-{item}"


def _pascal(type_id: str) -> str:
    """``bola.foreign-id-access`` becomes ``BolaForeignIdAccess``."""
    return "".join(part.capitalize() for part in re.split(r"[._-]+", type_id) if part)
