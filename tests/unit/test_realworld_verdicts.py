"""How benchmarks/realworld.py matches findings to hand-made verdicts and counts them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import realworld
from benchmarks.realworld import Verdict, count, judge, load_verdicts, render, to_json
from benchmarks.realworld_apps import base


def _finding(
    type_id: str, operation: str, severity: str = "high", parameter: str | None = None
) -> dict[str, Any]:
    return {
        "type_id": type_id,
        "operation": operation,
        "severity": severity,
        "parameter": parameter,
    }


def _verdict(true: bool, operation: str = "GET /a/{id}", **extra: Any) -> Verdict:
    return Verdict(
        app="kinto",
        finding="bola.cross-identity",
        operation=operation,
        true=true,
        reason="why",
        curl="curl",
        **extra,
    )


def _report(*findings: dict[str, Any]) -> dict[str, Any]:
    return {"operations": 7, "requests": 40, "score": 81, "grade": "B", "findings": list(findings)}


def test_judge_reports_the_verdict_of_the_same_type_and_operation() -> None:
    verdicts = [_verdict(False), _verdict(True, operation="GET /b/{id}")]

    assert judge(verdicts, "kinto", "safe", _finding("bola.cross-identity", "GET /a/{id}")) is False
    assert judge(verdicts, "kinto", "safe", _finding("bola.cross-identity", "GET /b/{id}")) is True


def test_judge_reports_none_when_app_type_or_operation_differs() -> None:
    verdicts = [_verdict(False)]

    assert (
        judge(verdicts, "datasette", "safe", _finding("bola.cross-identity", "GET /a/{id}")) is None
    )
    assert judge(verdicts, "kinto", "safe", _finding("bola.adjacent-id", "GET /a/{id}")) is None
    assert judge(verdicts, "kinto", "safe", _finding("bola.cross-identity", "GET /c")) is None


def test_judge_survives_a_change_of_severity() -> None:
    verdicts = [_verdict(False)]

    for severity in ("critical", "medium", "low"):
        finding = _finding("bola.cross-identity", "GET /a/{id}", severity=severity)
        assert judge(verdicts, "kinto", "active", finding) is False


def test_judge_prefers_the_verdict_naming_the_parameter_and_mode() -> None:
    verdicts = [
        _verdict(False),
        _verdict(True, parameter="id"),
        _verdict(False, parameter="id", mode="active"),
    ]

    assert judge(verdicts, "kinto", "safe", _finding("bola.cross-identity", "GET /a/{id}")) is False
    by_id = _finding("bola.cross-identity", "GET /a/{id}", parameter="id")
    assert judge(verdicts, "kinto", "safe", by_id) is True
    assert judge(verdicts, "kinto", "active", by_id) is False


def test_count_reports_true_false_and_unjudged_above_info_only() -> None:
    verdicts = [_verdict(True), _verdict(False, operation="GET /b/{id}")]
    report = _report(
        _finding("bola.cross-identity", "GET /a/{id}", "medium"),
        _finding("bola.cross-identity", "GET /b/{id}", "critical"),
        _finding("bola.cross-identity", "GET /b/{id}", "low"),
        _finding("bola.cross-identity", "GET /c", "high"),
        _finding("bola.cross-identity", "GET /b/{id}", "info"),
    )

    outcome = count(verdicts, "kinto", "safe", report)

    assert (outcome.tally.findings, outcome.tally.true, outcome.tally.false) == (4, 1, 2)
    assert outcome.tally.unjudged == 1
    assert outcome.unjudged == [
        {
            "finding": "bola.cross-identity",
            "operation": "GET /c",
            "parameter": None,
            "severity": "high",
        }
    ]
    assert outcome.tally.false_severe == 1
    assert (outcome.operations, outcome.score, outcome.grade) == (7, 81, "B")


def test_precision_is_true_out_of_judged_findings() -> None:
    verdicts = [_verdict(True), _verdict(False, operation="GET /b/{id}")]
    safe = count(verdicts, "kinto", "safe", _report(_finding("bola.cross-identity", "GET /a/{id}")))
    active = count(
        verdicts,
        "kinto",
        "active",
        _report(
            _finding("bola.cross-identity", "GET /a/{id}"),
            _finding("bola.cross-identity", "GET /a/{id}"),
            _finding("bola.cross-identity", "GET /b/{id}", "medium"),
            _finding("bola.cross-identity", "GET /unjudged"),
        ),
    )

    data = to_json([safe, active], wall_s=12.0, install_s=3.0)

    assert (data["true"], data["false"], data["unjudged"]) == (3, 1, 1)
    assert data["precision"] == 0.75
    assert data["false_severe"] == 0
    assert "precision above info: 75.0%" in render(data)


def test_precision_stays_empty_when_nothing_was_judged() -> None:
    outcome = count([], "kinto", "safe", _report(_finding("x.y", "GET /")))

    assert realworld.totals([outcome]).precision is None
    assert to_json([outcome], wall_s=1.0, install_s=0.0)["precision"] is None


def test_load_verdicts_reads_app_keyed_entries(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.yaml"
    path.write_text(
        "kinto:\n"
        "  - finding: encryption.hsts-missing\n"
        "    operation: '*'\n"
        "    verdict: false\n"
        "    reason: plain-HTTP loopback target\n"
        "    curl: curl -i http://127.0.0.1:PORT/v1/\n",
        encoding="utf-8",
    )

    (verdict,) = load_verdicts(path)

    assert (verdict.app, verdict.finding, verdict.operation, verdict.true) == (
        "kinto",
        "encryption.hsts-missing",
        "*",
        False,
    )


@pytest.mark.parametrize(
    "entry",
    [
        "  - {finding: a.b, operation: '*', verdict: maybe, reason: r, curl: c}\n",
        "  - {finding: a.b, operation: '*', verdict: false, curl: c}\n",
        "  - {finding: a.b, operation: '*', verdict: false, reason: r, curl: c, severity: high}\n",
    ],
)
def test_load_verdicts_refuses_a_malformed_entry(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "verdicts.yaml"
    path.write_text("kinto:\n" + entry, encoding="utf-8")

    with pytest.raises(ValueError, match="malformed verdict"):
        load_verdicts(path)


def test_the_committed_verdicts_are_well_formed_and_name_known_apps() -> None:
    verdicts = load_verdicts()

    assert {v.app for v in verdicts} <= set(realworld.apps.APPS)
    keys = [(v.app, v.finding, v.operation, v.parameter, v.mode) for v in verdicts]
    assert len(keys) == len(set(keys)), "a verdict key appears twice"
    assert all(v.curl for v in verdicts), "every verdict carries the curl that proves it"


def test_recount_judges_kept_reports_without_scanning(tmp_path: Path) -> None:
    report = _report(_finding("bola.cross-identity", "GET /a/{id}"), _finding("x.y", "GET /"))
    (tmp_path / "kinto-safe.json").write_text(json.dumps({**report, "duration_s": 4.5}))

    (outcome,) = realworld.recount(
        ["kinto", "datasette"], ["safe", "active"], tmp_path, [_verdict(True)]
    )

    assert (outcome.app, outcome.mode, outcome.scan_s) == ("kinto", "safe", 4.5)
    assert (outcome.tally.true, outcome.tally.unjudged) == (1, 1)


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (200, {"openapi": "3.0.3", "paths": {}}, True),
        (200, 'swagger: "2.0"\ninfo: {title: t}\n', True),
        (200, "<!DOCTYPE html><title>Log in</title>", False),
        (401, {"openapi": "3.0.3"}, False),
        (200, {"detail": "Not Found"}, False),
    ],
)
def test_a_served_document_is_told_from_a_login_page(
    status: int, answer: Any, expected: bool
) -> None:
    assert base.is_openapi_document(status, answer) is expected
