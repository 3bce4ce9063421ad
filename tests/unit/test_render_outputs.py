"""Golden files of the summary, table and JSON renderers, and their defence against hostile text.

Set ``MIDDLEBRICK_UPDATE_SNAPSHOTS=1`` to rewrite the golden files after a reviewed change.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
from middlebrick.render import render
from middlebrick.render._text import clean, markup
from middlebrick.report import (
    Cut,
    NotRestored,
    Report,
    SkippedOperation,
    SpecInfo,
    build_report,
)

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the only escape sequence a renderer may emit (colour)
GOLDEN = {"summary": "report_summary.txt", "table": "report_table.txt", "json": "report.json"}


def _evidence(
    url: str,
    *,
    status: int = 200,
    excerpt: str = "",
    match: str | None = None,
    label: str | None = "probe",
    headers: dict[str, str] | None = None,
) -> Evidence:
    return Evidence(
        label=label,
        request=RecordedRequest(method="GET", url=url),
        curl=f"curl -sS -X GET '{url}'",
        status=status,
        response_headers=headers or {},
        excerpt=excerpt,
        match=match,
    )


def _finding(
    type_id: str,
    severity: Severity,
    confidence: Confidence,
    operation: str,
    *,
    title: str,
    detail: str,
    evidence: tuple[Evidence, ...],
    parameter: str | None = None,
    cwe: tuple[int, ...] = (200,),
    owasp: str = "API3",
    remediation: str = "Return only the fields the caller may see.",
) -> Finding:
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title=title,
        severity=severity,
        confidence=confidence,
        operation=operation,
        parameter=parameter,
        detail=detail,
        evidence=evidence,
        fingerprint=fingerprint(type_id, operation, parameter),
        cwe=cwe,
        owasp_api_2023=owasp,
        remediation=remediation,
    )


def sample_report(*extra: Finding) -> Report:
    """A small fixed report: four findings over five checked categories, one partial."""
    base = "http://127.0.0.1:8080"
    findings = [
        _finding(
            "bola.foreign-id-access",
            Severity.critical,
            Confidence.confirmed,
            "GET /orders/{order_id}",
            parameter="order_id",
            title="Another identity's object is readable",
            detail="identity bob read order 1001 owned by alice (200, same body as alice's)",
            evidence=(
                _evidence(
                    f"{base}/orders/1001",
                    excerpt='{"order_id": "1001", "owner": "alice", "total": 42.5}',
                    match='"owner": "alice"',
                    label="probe",
                ),
                _evidence(f"{base}/orders/1001", excerpt='{"order_id": "1001"}', label="baseline"),
            ),
            cwe=(639,),
            owasp="API1",
            remediation=(
                "Load the object with the caller's identity in the key condition,\n"
                "never from a client-chosen key alone.\n"
                "Return 404 for objects the caller does not own."
            ),
        ),
        _finding(
            "data_exposure.ssn-in-response",
            Severity.high,
            Confidence.firm,
            "GET /users/{user_id}",
            title="US Social Security number in a response",
            detail="a value shaped like an SSN is returned in field 'ssn'",
            evidence=(
                _evidence(
                    f"{base}/users/7",
                    excerpt='{"id": 7, "name": "Ann", "ssn": "123-45-6789", "email": "a@x.test"}',
                    match="123-45-6789",
                    label="baseline",
                ),
            ),
        ),
        _finding(
            "encryption.hsts-missing",
            Severity.low,
            Confidence.firm,
            "*",
            title="Strict-Transport-Security header missing",
            detail="no Strict-Transport-Security header on any response",
            evidence=(
                _evidence(f"{base}/", excerpt="", label=None, headers={"Server": "gunicorn"}),
            ),
            cwe=(319,),
            owasp="API8",
            remediation="Send Strict-Transport-Security: max-age=31536000; includeSubDomains.",
        ),
        _finding(
            "inventory.server-banner",
            Severity.info,
            Confidence.tentative,
            "GET /health",
            title="Server software and version disclosed",
            detail="Server header names gunicorn",
            evidence=(_evidence(f"{base}/health", excerpt="ok", label=None),),
            cwe=(200,),
            owasp="API9",
            remediation="Remove or genericise the Server header.",
        ),
        *extra,
    ]
    status = {
        "authentication": ("checked", None),
        "bola": ("checked", None),
        "input_validation": ("checked", None),
        "data_exposure": ("partial", "1 of 3 checks cut by the time budget"),
        "encryption": ("checked", None),
        "inventory": ("checked", None),
        "llm_security": ("not_checked", "no AI endpoint detected"),
    }
    return build_report(
        findings=findings,
        category_status=status,
        context=Context.financial,
        version="0.1.0",
        scan_id="scan-0001",
        target=f"{base}/",
        started_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        finished_at=datetime(2025, 1, 2, 3, 4, 9, 500000, tzinfo=UTC),
        duration_s=4.5,
        mode="active",
        tier=Tier.standard,
        operations=12,
        requests=231,
        framework="flask",
        spec=SpecInfo(
            source="openapi.yaml",
            title="Shop API",
            version="1.2.0",
            spec_version="3.1.0",
            operations=12,
        ),
        surface_origin="spec",
        notes=["partial scan: time budget of 120 s reached; 1 check did not finish"],
        complete=False,
        coverage=Coverage(
            operations=12, requested=10, usable=9, unusable={"answered 404": 1}, incomplete=[]
        ),
        skipped=[
            SkippedOperation(
                operation="POST /orgs/{org}/invitations",
                reason="its path `/orgs/{org}/invitations` names an act that cannot be undone "
                "(`invitations`)",
            ),
            SkippedOperation(
                operation="GET /auth/logout",
                reason="its path `/auth/logout` names a state change (`logout`)",
            ),
        ],
        restored=3,
        not_restored=[
            NotRestored(
                url=f"{base}/items/7",
                check="input_validation.body_injection",
                detail="PATCH /items/7 answered 200; restoring it could not be confirmed: set "
                'name="Mug" by hand on /items/7',
            )
        ],
        cut=[
            Cut(
                check="input_validation.type_confusion",
                reason="time budget",
                operations=["GET /orders/{id}", "GET /orders"],
                more=1,
            )
        ],
    )


def _assert_matches_golden(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("MIDDLEBRICK_UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_output_matches_its_golden_file(fmt: str) -> None:
    _assert_matches_golden(GOLDEN[fmt], render(sample_report(), fmt, color=False))


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_output_ignores_the_terminal_environment(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = render(sample_report(), fmt, color=False)
    for name, value in {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "40"}.items():
        monkeypatch.setenv(name, value)

    assert render(sample_report(), fmt, color=False) == expected


def test_json_output_reads_back_as_the_same_report() -> None:
    report = sample_report()

    assert Report.model_validate_json(render(report, "json", color=False)) == report


@pytest.mark.parametrize("fmt", ["summary", "table"])
def test_colour_is_only_emitted_when_asked(fmt: str) -> None:
    report = sample_report()

    assert "\x1b" not in render(report, fmt, color=False)
    coloured = render(report, fmt, color=True)
    assert SGR.search(coloured)
    plain = [line.rstrip() for line in SGR.sub("", coloured).splitlines()]
    assert plain == render(report, fmt, color=False).splitlines()


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_every_finding_shows_its_curl_command(fmt: str) -> None:
    report = sample_report()
    out = render(report, fmt, color=False)
    if fmt == "json":
        shown = [e["curl"] for f in json.loads(out)["findings"] for e in f["evidence"]]
        assert shown == [e.curl for f in report.findings for e in f.evidence]
        return
    for finding in report.findings:
        assert finding.evidence
        for item in finding.evidence:
            assert item.curl in out, (fmt, finding.type_id)


@pytest.mark.parametrize("fmt", ["summary", "table"])
def test_not_checked_categories_are_never_shown_as_passing(fmt: str) -> None:
    out = render(sample_report(), fmt, color=False)
    for name in ("BFLA / privilege", "SSRF", "Unsafe consumption"):
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        assert "not checked" in line
        assert "100" not in line and "█" not in line


# Sequences a renderer never emits itself (it uses the 16 standard colours, never blink).
FOREIGN = (
    "\x1b[38;5;196m",
    "\x1b[5m",
    "\x1b[2J",
    "\x1b[1A",
    "\x1b]",
    "\x07",
    "\r",
    "\x9b",
    "\u202e",
)
HOSTILE = "before\x1b[31mafter[bold]x :smile: \x1b]0;pwned\x07\r\x9b2J\u202e\x1b[38;5;196mend"


def _hostile_report() -> Report:
    url = "http://127.0.0.1:8080/x\x1b[2J"
    evil = Evidence(
        label="probe\x1b[5m",
        request=RecordedRequest(method="GET", url=url, headers={"X-Evil": "\x1b[31mred"}),
        curl=f"curl '{url}' -H 'X-Evil: \x1b[31mred'",
        status=500,
        response_headers={"Server": "\x1b]8;;http://evil.test\x1b\\link\x1b]8;;\x1b\\"},
        excerpt=f"<<{HOSTILE}>>",
        match=HOSTILE,
    )
    finding = _finding(
        "input_validation.hostile-echo",
        Severity.medium,
        Confidence.firm,
        "GET /x\x1b]0;title\x07/{id}",
        parameter="id\x1b[1A",
        title="Echo [bold]of\x1b[31m input",
        detail=HOSTILE,
        evidence=(evil,),
        remediation=HOSTILE,
    )
    return sample_report(finding)


@pytest.mark.parametrize("fmt", ["summary", "table"])
@pytest.mark.parametrize("color", [False, True])
def test_terminal_output_never_carries_sequences_or_markup_from_the_target(
    fmt: str, color: bool
) -> None:
    out = render(_hostile_report(), fmt, color=color)

    assert "\x1b" not in SGR.sub("", out)  # no escape sequence but our own colours
    for raw in FOREIGN:
        assert raw not in out, repr(raw)
    if not color:
        assert "\x1b" not in out
    assert "[bold]" in out  # printed literally, not interpreted as markup


def test_summary_prints_hostile_text_literally_with_its_sequences_removed() -> None:
    out = render(_hostile_report(), "summary", color=True)

    assert "beforeafter[bold]x :smile: " in out
    assert "before\x1b" not in out


def test_json_output_escapes_control_characters_and_keeps_the_data() -> None:
    report = _hostile_report()

    out = render(report, "json", color=False)

    assert "\x1b" not in out and "\x07" not in out
    assert "\\u001b" in out
    assert Report.model_validate_json(out) == report


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x1b[31mb\x1b[0mc", "abc"),
        ("a\x1b]0;title\x07b", "ab"),
        ("a\x1b]8;;http://x.test\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
        ("a\x1bPq#0\x1b\\b", "ab"),
        ("a\x9b2Jb\x00c\x7fd\re", "abcde"),
        ("a\u202eb\u2066c", "abc"),
        ("line 1\n\tline 2", "line 1\n\tline 2"),
        ("trailing escape \x1b", "trailing escape "),
    ],
)
def test_clean_removes_escape_sequences_and_controls_but_keeps_text(
    raw: str, expected: str
) -> None:
    assert clean(raw) == expected


def test_markup_escapes_rich_markup_after_cleaning() -> None:
    assert markup("[bold]x\x1b[31m[/]") == "\\[bold]x\\[/]"


def _ssn_on(path: str, confidence: Confidence = Confidence.firm) -> Finding:
    return _finding(
        "data_exposure.ssn-in-response",
        Severity.high,
        confidence,
        f"GET {path}",
        title="US Social Security number in a response",
        detail=f"an SSN in {path}",
        evidence=(_evidence(f"http://127.0.0.1:8080{path.replace('{id}', '7')}"),),
    )


def test_summary_groups_findings_by_root_cause_with_their_operations() -> None:
    extra = [_ssn_on("/staff/{id}", Confidence.confirmed), _ssn_on("/people"), _ssn_on("/hr")]
    report = sample_report(*extra)

    out = render(report, "summary", color=False)

    ssn_heads = [line for line in out.splitlines() if "US Social Security number" in line]
    assert len(ssn_heads) == 1  # one root cause, one entry
    assert ssn_heads[0].endswith("· 4 operations")
    assert "    GET /staff/{id}, " in out  # the confirmed one first
    assert "and 2 more · confirmed · data_exposure.ssn-in-response" in out
    assert out.index("Another identity's object") < out.index("US Social Security number")
    assert "Top findings by root cause (4)  7 findings" in out
    assert f"middlebrick results {report.scan_id} --format html:report.html" in " ".join(
        out.split()
    )


def test_summary_stays_short_when_one_flaw_repeats_on_many_operations() -> None:
    report = sample_report(*(_ssn_on(f"/r{n}") for n in range(40)))

    out = render(report, "summary", color=False)

    assert out.count("US Social Security number") == 1
    assert out.count("$ curl") == 4  # one per root cause


def _incomplete(report: Report) -> Report:
    coverage = Coverage(
        operations=14,
        requested=14,
        usable=1,
        unusable={"answered 404": 13},
        incomplete=["only 1 of 14 operations gave a usable answer (7 %; 13 answered 404)"],
    )
    return report.model_copy(
        update={"score": None, "grade": None, "coverage": coverage, "notes": []}
    )


@pytest.mark.parametrize("fmt", ["summary", "table"])
def test_terminal_formats_say_incomplete_and_why_when_too_little_was_tested(fmt: str) -> None:
    out = render(_incomplete(sample_report()), fmt, color=False)

    assert "Score: incomplete" in out
    assert "only 1 of 14 operations gave a usable answer (7 %; 13 answered 404)" in out
    assert "coverage: 1 of 14 operations gave a usable answer (7 %): 13 answered 404" in out
    assert "grade F" not in out and "partial scan" not in out


def test_json_output_carries_the_coverage_and_reads_back() -> None:
    report = _incomplete(sample_report())

    data = json.loads(render(report, "json", color=False))

    assert data["score"] is None and data["grade"] is None
    assert data["coverage"]["usable"] == 1
    assert data["coverage"]["incomplete"]
    assert Report.model_validate(data).verdict() == "incomplete"
